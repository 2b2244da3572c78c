import { execFileSync } from 'node:child_process';

/** CLI tests spawn the built `edge-agent`; compile first so they never run stale code. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
