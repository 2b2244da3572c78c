import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

describe('edge-agent eval rfid', { timeout: 120_000 }, () => {
  it('gets the direction of tags through the exit gate right, never takes a lingering tag out, never bills a serial twice', async () => {
    const rec = join(tempDir(), 'rec');
    // Bursty reads with 20 % missed, shoppers carrying tagged goods out, bringing some back in
    // (half of them items that left earlier the same day) and lingering near the gate.
    const knobs = JSON.stringify({ rfidMissRate: 0.2, carryInRate: 0.3, gateLingerRate: 0.35 });
    expect((await runCli(['sim', '--seed', '31', '--minutes', '45', '--shoppers', '90', '--profile', 'busy', '--no-video', '--knobs', knobs, '--out', rec])).code).toBe(0);
    const res = await runCli(['eval', 'rfid', '--recording', rec]);
    expect(res.code).toBe(0);
    const score = lastJsonLine(res.stdout);
    expect(score['crossings']).toBeGreaterThan(60);
    expect(score['directionAccuracy']).toBeGreaterThanOrEqual(0.99);
    expect(score['lingers']).toBeGreaterThan(5);
    expect(score['lingersCalledOut']).toBe(0);
    expect(score['doubleBilled']).toBe(0);
    expect(score['repeatExitsBilled']).toBe(0);
    expect(score['billable']).toBeGreaterThan(20);
    expect(res.stderr).toMatch(/exit gate: direction \d+\.\d+ % of \d+ crossings/);
  });
});
