import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runCli, startAgent, waitUntil } from '../support/cli.js';
import { DEMO_CONFIG_FILE, demoRaw, writeJson } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('edge-agent check-config', () => {
  it('accepts the demo store', async () => {
    const res = await runCli(['check-config', DEMO_CONFIG_FILE]);
    expect(res.code).toBe(0);
    expect(lastJsonLine(res.stdout)).toMatchObject({ ok: true, storeId: 'demo-001', summary: { gondolas: 2, plates: 48, cameras: 3, gates: 2, screens: 3 } });
  });

  it('names all three planted mistakes by path and exits 2', async () => {
    const raw = demoRaw();
    raw['gondolas'][1]['shelves'][2]['plates'][0]['widthM'] = -0.5;
    raw['planogram']['products'][4]['price'] = 1.99;
    raw['zones'][3]['colour'] = 'red';
    const file = writeJson(tempDir(), 'three-mistakes.json', raw);
    const res = await runCli(['check-config', file]);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toEqual([
      `error: ${file}: 3 errors`,
      '/gondolas/1/shelves/2/plates/0/widthM: must be > 0',
      '/planogram/products/4/price: must be integer',
      '/zones/3/colour: unknown key',
    ]);
    const result = lastJsonLine(res.stdout);
    expect(result).toMatchObject({ ok: false, code: 'CONFIG_INVALID' });
    expect(result['errors']).toHaveLength(3);
  });

  it('gives one clear line for a missing file', async () => {
    const file = join(tempDir(), 'nope.json');
    const res = await runCli(['check-config', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`error: ${file}: no such file\n`);
    expect(lastJsonLine(res.stdout)).toMatchObject({ ok: false, code: 'CONFIG_NOT_FOUND' });
  });

  it('gives one clear line with line and column for invalid JSON', async () => {
    const file = join(tempDir(), 'broken.json');
    writeFileSync(file, '{\n  "version": 1,\n  "store": { "id": "x" }\n  "dataDir": "d"\n}\n');
    const res = await runCli(['check-config', file]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:3: invalid JSON: `));
    noStackTrace(res.stderr);
  });

  it('says when the path is a directory', async () => {
    const dir = tempDir();
    const res = await runCli(['check-config', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`error: ${dir}: is a directory, not a configuration file\n`);
  });

  it('warns, without failing, about secrets missing from this shell', async () => {
    const raw = demoRaw();
    raw['mqtt']['passwordEnv'] = 'EDGE_TEST_UNSET_PASSWORD';
    const file = writeJson(tempDir(), 'store.json', raw);
    const res = await runCli(['check-config', file]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('warning: /mqtt/passwordEnv: environment variable EDGE_TEST_UNSET_PASSWORD is not set');
  });
});

describe('edge-agent run and demo', () => {
  it('refuses a bad configuration with exit 2 and starts nothing', async () => {
    const dir = tempDir();
    const raw = demoRaw();
    raw['dataDir'] = join(dir, 'data');
    raw['cameras'][0]['fps'] = 0;
    const file = writeJson(dir, 'store.json', raw);
    const res = await runCli(['run', '--config', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('/cameras/0/fps: must be > 0');
    noStackTrace(res.stderr);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('refuses to start when a secret named by the file is not in the environment', async () => {
    const dir = tempDir();
    const raw = demoRaw();
    raw['mqtt']['passwordEnv'] = 'EDGE_TEST_UNSET_PASSWORD';
    const file = writeJson(dir, 'store.json', raw);
    const res = await runCli(['run', '--config', file, '--data-dir', join(dir, 'data'), '--port', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('/mqtt/passwordEnv: environment variable EDGE_TEST_UNSET_PASSWORD is not set');
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('rejects bad flags with exit 2', async () => {
    expect((await runCli(['run', '--config', DEMO_CONFIG_FILE, '--port', 'eighty'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['run'])).code).toBe(2);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('check-config');
  });

  it('runs the demo store, answers /healthz and stops cleanly on SIGTERM', async () => {
    const dataDir = join(tempDir(), 'data');
    const agent = await startAgent(['demo', '--port', '0', '--data-dir', dataDir]);
    const res = await fetch(`${agent.adminUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ storeId: 'demo-001' });
    // The simulator's devices come up: shelves, gates and cameras all report in.
    await waitUntil(async () => ((await (await fetch(`${agent.adminUrl}/healthz`)).json()) as { status: string }).status === 'ok', 20_000, 'all devices up');
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    const db = new BetterSqlite3(join(dataDir, 'store.db'), { readonly: true });
    expect(db.prepare('SELECT stop_reason, stopped_at IS NOT NULL AS stopped FROM agent_runs').all()).toEqual([{ stop_reason: 'SIGTERM', stopped: 1 }]);
    db.close();
  });

  it('runs two agents side by side on one config with --port and --data-dir', async () => {
    const a = await startAgent(['run', '--config', DEMO_CONFIG_FILE, '--port', '0', '--data-dir', join(tempDir(), 'a')]);
    const b = await startAgent(['run', '--config', DEMO_CONFIG_FILE, '--port', '0', '--data-dir', join(tempDir(), 'b')]);
    expect(a.adminUrl).not.toBe(b.adminUrl);
    expect((await fetch(`${a.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${b.adminUrl}/healthz`)).status).toBe(200);
    a.child.kill('SIGINT');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
  });

  it('tells after a kill -9 that the previous run did not stop cleanly', async () => {
    const dataDir = join(tempDir(), 'data');
    const first = await startAgent(['demo', '--port', '0', '--data-dir', dataDir]);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await startAgent(['demo', '--port', '0', '--data-dir', dataDir]);
    expect(await (await fetch(`${second.adminUrl}/healthz`)).json()).toMatchObject({ runId: 2, previousRunStoppedCleanly: false });
    expect(second.stderr()).toContain('previous run did not stop cleanly');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});

describe('edge-agent config-docs', () => {
  it('finds the committed reference and JSON Schema current', async () => {
    const res = await runCli(['config-docs', '--check']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });
});
