/**
 * Commands from the cloud to a store agent started by the CLI, through a real Mosquitto: bad
 * requests change nothing and name what is wrong; prices and planograms are validated with the
 * whole configuration, kept beside the database and applied by restarting the agent's components;
 * gallery photos and screen content take effect at once; a command sent while the agent was
 * stopped is answered when it is back (MQTT 5 session expiry).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { startAgent, waitUntil, type RunningAgent } from '../support/cli.js';
import { bareConfig, demoConfig, writeJson } from '../support/demo-config.js';
import { startMosquitto } from '../support/mosquitto.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stopAgent(agent: RunningAgent): Promise<void> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
}

describe('cloud commands', { timeout: 180_000 }, () => {
  it('validates, applies and answers every command; a command sent while the agent is down is answered when it is back', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const demo = demoConfig(dataDir);
    const base = bareConfig(dataDir);
    // The demo's products and screen, without devices: the agent runs without a simulator.
    const products = demo.planogram.products.slice(0, 4).map((p) => ({ ...p, plates: [] }));
    const config = {
      ...base,
      planogram: { products },
      screens: [{ ...demo.screens[0]!, shelves: [] }],
      mqtt: { ...base.mqtt, url: broker.url, clientId: 'edge-commands-cli' },
    };
    const file = writeJson(dir, 'store.json', config);
    const store = `retail/${config.store.id}`;

    const caller = mqtt.connect(broker.url, { clientId: 'cloud-operator', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    cleanups.push(async () => void (await caller.endAsync(true)));
    const answers = new Map<string, { ok: boolean; result?: any; error?: string }>();
    const states: string[] = [];
    caller.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as { transaction?: string; state?: string; ok: boolean };
      if (topic.endsWith('/agent/state')) states.push(body.state!);
      else answers.set(body.transaction!, body);
    });
    await new Promise<void>((resolve) => caller.once('connect', () => resolve()));
    await caller.subscribeAsync([`${store}/response/#`, `${store}/agent/state`], { qos: 1 });
    let n = 0;
    const send = async (command: string, args: unknown = {}): Promise<{ ok: boolean; result?: any; error?: string }> => {
      const transaction = `t-${++n}`;
      await caller.publishAsync(`${store}/request/${command}`, JSON.stringify({ v: 1, transaction, args }), { qos: 1 });
      await waitUntil(async () => answers.has(transaction), 60_000, `the answer to ${command}`);
      return answers.get(transaction)!;
    };

    let agent = await startAgent(['run', '--config', file, '--port', '0', '--log-level', 'warn'], { timeoutMs: 60_000 });
    cleanups.push(() => stopAgent(agent));
    await waitUntil(async () => states.at(-1) === 'online', 30_000, 'the agent online');
    // Its subscription is made right after it announced itself.
    await new Promise((r) => setTimeout(r, 300));

    // Bad requests: nothing changes, the answer says why.
    expect(await send('update-prices', { prices: { 'no-such-product': 100 } })).toMatchObject({ ok: false, error: expect.stringMatching(/not in the planogram: no-such-product/) });
    expect(await send('update-prices', { prices: { [products[0]!.id]: -5 } })).toMatchObject({ ok: false, error: expect.stringMatching(/args\/prices\/.* must be >= 0/) });
    expect(await send('update-prices', { price: 1 })).toMatchObject({ ok: false, error: expect.stringMatching(/args must have required property 'prices'/) });
    const offShelf = { ...products[0]!, plates: ['9.9.9'] };
    const badPlanogram = await send('update-planogram', { products: [offShelf] });
    expect(badPlanogram).toMatchObject({ ok: false, error: expect.stringMatching(/\/planogram\/products\/0\/plates\/0/) });
    expect(await send('set-screen-content', { screen: 'screen-404', products: [] })).toMatchObject({ ok: false, error: expect.stringMatching(/no screen screen-404; screens: screen-1/) });
    expect(existsSync(join(dataDir, 'cloud-config.json'))).toBe(false);

    // New prices: validated, kept beside the database, applied by a restart of the components.
    const runsBefore = states.filter((s) => s === 'online').length;
    const priced = await send('update-prices', { prices: { [products[0]!.id]: 1234 } });
    expect(priced).toMatchObject({ ok: true, result: { updated: 1, reloading: true, changed: ['planogram'] } });
    expect(JSON.parse(readFileSync(join(dataDir, 'cloud-config.json'), 'utf8'))).toMatchObject({ v: 1, prices: { [products[0]!.id]: 1234 } });
    await waitUntil(async () => states.filter((s) => s === 'online').length > runsBefore, 60_000, 'the agent back online after the reload');
    await new Promise((r) => setTimeout(r, 300));

    // A whole planogram replaces the file's and the earlier price updates.
    const renamed = products.map((p, i) => (i === 1 ? { ...p, name: 'Renamed by the cloud', price: 777 } : p));
    const onlineBefore = states.filter((s) => s === 'online').length;
    expect(await send('update-planogram', { products: renamed })).toMatchObject({ ok: true, result: { products: 4, changed: ['planogram'] } });
    await waitUntil(async () => states.filter((s) => s === 'online').length > onlineBefore, 60_000, 'the agent back online after the planogram');
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.parse(readFileSync(join(dataDir, 'cloud-config.json'), 'utf8')).prices).toBeUndefined();

    // Screen content and gallery photos take effect without a restart.
    const screen = await send('set-screen-content', { screen: 'screen-1', products: [products[2]!.id], title: 'Tonight', minutes: 60 });
    expect(screen).toMatchObject({ ok: true, result: { screen: 'screen-1', cleared: false } });
    const photo = await sharp({ create: { width: 96, height: 128, channels: 3, background: { r: 200, g: 40, b: 30 } } }).jpeg().toBuffer();
    const gallery = await send('add-gallery-images', { product: products[3]!.id, images: [{ name: 'front.jpg', data: photo.toString('base64') }] });
    expect(gallery).toMatchObject({ ok: true, result: { added: 1 } });
    expect(await send('add-gallery-images', { product: products[3]!.id, images: [{ data: Buffer.from('not an image').toString('base64') }] })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/images\[0\] \(cloud-1\): (cannot decode|not a colour)/),
    });

    // Editing the file and reloading names what changed.
    writeFileSync(file, JSON.stringify({ ...config, store: { ...config.store, name: 'Renamed store' } }, null, 2));
    const onlineBeforeReload = states.filter((s) => s === 'online').length;
    expect(await send('reload-config')).toMatchObject({ ok: true, result: { reloading: true, changed: ['store'] } });
    await waitUntil(async () => states.filter((s) => s === 'online').length > onlineBeforeReload, 60_000, 'the agent back online after reload-config');
    await new Promise((r) => setTimeout(r, 300));
    // A broken file is refused and the agent keeps running on what it has.
    writeFileSync(file, JSON.stringify({ ...config, admin: { ...config.admin, port: 'eighty' } }, null, 2));
    expect(await send('reload-config')).toMatchObject({ ok: false, error: expect.stringMatching(/\/admin\/port/) });
    writeFileSync(file, JSON.stringify({ ...config, store: { ...config.store, name: 'Renamed store' } }, null, 2));

    // The agent is stopped; a ping sent meanwhile waits in its session at the broker.
    await stopAgent(agent);
    await waitUntil(async () => states.at(-1) === 'offline', 30_000, 'offline on a clean stop');
    await caller.publishAsync(`${store}/request/ping`, JSON.stringify({ v: 1, transaction: 'while-down' }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(answers.has('while-down')).toBe(false);
    agent = await startAgent(['run', '--config', file, '--port', '0', '--log-level', 'warn'], { timeoutMs: 60_000 });
    await waitUntil(async () => answers.has('while-down'), 30_000, 'the ping sent while the agent was down');
    expect(answers.get('while-down')).toMatchObject({ ok: true, result: { pong: true } });
    await stopAgent(agent);

    // What each run was configured with is in the database: the prices, then the cloud's planogram.
    const database = new StoreDatabase(dataDir, silentLogger());
    await database.start();
    const runs = database.handle
      .prepare('SELECT r.stop_reason AS reason, s.config_json AS json FROM agent_runs r JOIN config_snapshots s ON s.hash = r.config_hash ORDER BY r.id')
      .all() as { reason: string; json: string }[];
    const snapshot = (i: number) => JSON.parse(runs[i]!.json) as typeof config;
    expect(runs.map((r) => r.reason)).toEqual(['reload-config', 'reload-config', 'reload-config', 'SIGTERM', 'SIGTERM']);
    expect(snapshot(1).planogram.products[0]!.price).toBe(1234);
    expect(snapshot(2).planogram.products[1]).toMatchObject({ name: 'Renamed by the cloud', price: 777 });
    expect(snapshot(2).planogram.products[0]!.price).toBe(products[0]!.price);
    expect(snapshot(3).store.name).toBe('Renamed store');
    const content = database.handle.prepare('SELECT screen, content FROM screen_content').all() as { screen: string; content: string }[];
    expect(content).toEqual([{ screen: 'screen-1', content: JSON.stringify({ products: [products[2]!.id], title: 'Tonight' }) }]);
    const refs = database.handle.prepare("SELECT product, source, added_by AS addedBy FROM product_references WHERE added_by = 'cloud'").all();
    expect(refs).toEqual([{ product: products[3]!.id, source: 'front.jpg', addedBy: 'cloud' }]);
    await database.stop();
  });
});
