#!/usr/bin/env node
// Entry point of the `edge-agent` command: runs the compiled CLI from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../../dist/edge-agent/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write('edge-agent is not built yet: run `npm run setup` (or `npm run build`) in the project folder\n');
  process.exit(1);
}
const { main } = await import(compiled.href);
process.exit(await main(process.argv));
