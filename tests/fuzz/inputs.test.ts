/**
 * Fuzzing what people and the cloud send the agent: store configuration files mutated in their
 * structure and their text, MQTT command requests (random topics, bytes, JSON and arguments)
 * through a real broker to a real publisher, and admin HTTP bodies to every route that changes
 * something. Nothing crashes, every bad input gets an answer that says why, memory stays bounded.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../device-config/validate.js';
import { adminPages } from '../../edge-agent/src/admin/admin-pages.js';
import { buildAdminApp } from '../../edge-agent/src/admin/app.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { parseJson } from '../../edge-agent/src/config/load-config.js';
import { isConfigError } from '../../edge-agent/src/errors.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { addUsers, PASSWORDS } from '../support/admin.js';
import { demoConfig, demoRaw, devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';
import { waitUntil } from '../support/cli.js';

const ROUNDS = process.env['FUZZ_LONG'] ? 20_000 : 400;
const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A random JSON value, sometimes nasty: huge numbers, long strings, deep nesting, prototype keys. */
function randomValue(rng: Random, depth = 0): unknown {
  switch (rng.int(0, depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return [0, -1, 1e308, -1e308, 2 ** 53, 0.5, NaN][rng.int(0, 6)];
    case 3:
      return rng.int(-1e6, 1e6);
    case 4:
      return ['', 'x'.repeat(rng.int(1, 5000)), '../../etc/passwd', '<script>alert(1)</script>', '\u0000', '1.2.3', 'screen-1'][rng.int(0, 6)];
    case 5:
      return String.fromCharCode(...Array.from({ length: rng.int(0, 20) }, () => rng.int(0, 0xffff)));
    case 6:
      return Array.from({ length: rng.int(0, 5) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 4); i > 0; i--) o[['__proto__', 'constructor', 'v', 'args', 'id', 'products', 'prices', 'x'][rng.int(0, 7)]!] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

/** Every path to a value in a JSON document. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function mutateDocument(rng: Random, doc: unknown): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  for (let n = rng.int(1, 4); n > 0; n--) {
    const all = paths(copy).filter((p) => p.length > 0);
    const path = all[rng.int(0, all.length - 1)]!;
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
    const key = path.at(-1)!;
    if (rng.chance(0.3)) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else parent[key] = randomValue(rng);
  }
  return copy;
}

describe(`inputs under fuzzing (${ROUNDS} each, seeded)`, { timeout: 600_000 }, () => {
  it('configuration files: mutated structure or text gives errors with JSON paths, never an exception', () => {
    const rng = new Random(42);
    const raw = demoRaw();
    const text = JSON.stringify(raw, null, 2);
    let refused = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const doc = mutateDocument(rng, raw);
      const result = validateConfig(doc);
      if (!result.ok) {
        refused += 1;
        for (const e of result.errors) {
          expect(typeof e.path).toBe('string');
          expect(e.path === '' || e.path.startsWith('/')).toBe(true);
          expect(e.message.length).toBeGreaterThan(0);
        }
      }
      // The same for the text: invalid JSON is an error with a line and column.
      const cut = rng.int(0, text.length - 1);
      const broken = text.slice(0, cut) + String.fromCharCode(rng.int(0, 127)) + text.slice(cut + rng.int(0, 3));
      try {
        validateConfig(parseJson('store.json', broken));
      } catch (err) {
        expect(isConfigError(err)).toBe(true);
        expect((err as Error).message).toMatch(/^store\.json:\d+:\d+: invalid JSON/);
      }
    }
    expect(refused).toBeGreaterThan(ROUNDS / 2);
  });

  it('MQTT commands: every request gets an answer, the agent keeps running', async () => {
    const dir = tempDir();
    const base = demoConfig(dir);
    const config = { ...base, cameras: [], gates: [], gondolas: base.gondolas, rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 }, mqtt: { ...base.mqtt, embeddedPort: 0 } };
    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    const url = String((agent.health().components['broker'] as { url?: string }).url);
    const client = mqtt.connect(url, { protocolVersion: 4 });
    cleanups.push(async () => void (await client.endAsync(true)));
    const answers: unknown[] = [];
    client.on('message', (_t, payload) => answers.push(JSON.parse(payload.toString())));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const store = `retail/${config.store.id}`;
    await client.subscribeAsync(`${store}/response/#`, { qos: 1 });
    await waitUntil(async () => (agent.health().components['sync'] as { connected?: boolean }).connected === true, 10_000, 'the agent on its broker');
    await new Promise((r) => setTimeout(r, 200));
    const rng = new Random(99);
    const commands = ['ping', 'health', 'update-prices', 'update-planogram', 'add-gallery-images', 'set-screen-content', 'reload-config', 'no-such-command'];
    const rounds = Math.min(ROUNDS, 300);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < rounds; i++) {
      const command = commands[rng.int(0, commands.length - 1)]!;
      const payload =
        rng.int(0, 3) === 0
          ? Buffer.from(Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 255)))
          : JSON.stringify(rng.chance(0.7) ? { v: 1, transaction: `t${i}`, args: randomValue(rng) } : randomValue(rng));
      await client.publishAsync(`${store}/request/${command}`, payload, { qos: 1 });
    }
    await waitUntil(async () => answers.length >= rounds, 30_000, `${rounds} answers`);
    expect(answers).toHaveLength(rounds);
    for (const a of answers as { ok: boolean; error?: string }[]) {
      if (!a.ok) expect(a.error).not.toMatch(/Cannot read|undefined is not|is not a function/);
    }
    expect(agent.health().status).not.toBe('down');
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 1_048_576);
  });

  it('admin HTTP bodies: every changing route answers random bodies with 2xx or 4xx, never 500 or a stack', async () => {
    const config = devicelessConfig(tempDir());
    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    await addUsers(agent.database);
    const routes: { method: string; url: string }[] = [];
    const app = await buildAdminApp({
      log: silentLogger(),
      health: () => agent.health(),
      auth: { config, database: () => agent.database },
      plugins: [
        async (a) => {
          a.addHook('onRoute', (r) => {
            for (const method of [r.method].flat()) if (method !== 'GET' && method !== 'HEAD') routes.push({ method, url: r.url });
          });
          await a.register(adminPages(agent.adminContext));
        },
      ],
    });
    cleanups.push(() => app.close());
    const signed = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: PASSWORDS.admin } });
    const cookie = (signed.headers['set-cookie'] as string).split(';')[0]!;
    const csrf = (signed.json() as { csrf: string }).csrf;
    const rng = new Random(5);
    const changing = routes.filter((r) => r.url !== '/api/login' && r.url !== '/api/logout');
    expect(changing.length).toBeGreaterThan(0);
    for (let i = 0; i < ROUNDS; i++) {
      const route = changing[rng.int(0, changing.length - 1)]!;
      const param = () => ['1', '0', '-1', '999999999999', 'x', '..%2F..', '%00', '1.1.1', 'screen-1', 'cam-overhead-1', 'admin', 'a'.repeat(300)][rng.int(0, 11)]!;
      const url = route.url.replace(/:(\w+)/g, param);
      const raw = rng.chance(0.3);
      const res = await app.inject({
        method: route.method as 'POST',
        url,
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        payload: raw ? Buffer.from(Array.from({ length: rng.int(0, 100) }, () => rng.int(0, 255))) : JSON.stringify(randomValue(rng)),
      });
      expect(res.statusCode, `${route.method} ${url}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
      expect(res.body).not.toMatch(/\n\s+at /);
    }
  });
});
