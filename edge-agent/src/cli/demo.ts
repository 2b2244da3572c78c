import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { DEMO_CONFIG, packageRoot } from '../paths.js';
import type { LiveDeviceMap } from '../sim/live/device-map.js';
import { EXIT_FAILURE, type CliIo } from './output.js';
import { runAgent, type RunOverrides } from './run.js';


/**
 * `edge-agent demo`: the simulator (a child process, as separate from the agent as real shelves
 * are) plays the demo store live on pseudo-terminals and MJPEG streams; the agent runs on it.
 */
export async function runDemo(overrides: RunOverrides & { seed?: number; shoppersPerHour?: number }, io: CliIo): Promise<number> {
  const child = spawn(
    process.execPath,
    [join(packageRoot(), 'edge-agent', 'bin', 'edge-agent.js'), 'sim', '--live', '--config', DEMO_CONFIG(), '--seed', String(overrides.seed ?? 1), '--shoppers-per-hour', String(overrides.shoppersPerHour ?? 120)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const ready = await new Promise<LiveDeviceMap | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string } & LiveDeviceMap;
        if (msg.event === 'ready') {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        io.err(`simulator: ${line}`);
      }
    });
    child.on('exit', () => resolve(undefined));
  });
  if (!ready) {
    child.kill('SIGKILL');
    io.err('error: the store simulator did not start (see its messages above)');
    return EXIT_FAILURE;
  }
  io.out(`demo store simulator running (${Object.keys(ready.devices).length} devices on pseudo-terminals and MJPEG streams)`);
  try {
    return await runAgent(DEMO_CONFIG(), overrides, io, {
      transports: { resolveSim: (name) => ready.devices[name] },
      calibrationSeed: ready.calibration,
      simulatedProducts: true,
    });
  } finally {
    child.stdin?.end();
    child.kill('SIGTERM');
  }
}
