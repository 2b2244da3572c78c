/**
 * The live store page's API on a running agent over real HTTP: the snapshot (floor plan, shoppers,
 * sessions, occupancy, recent events) and the Server-Sent Event stream, fed by the agent's own bus;
 * viewers may read it, anonymous callers may not; stopping the agent ends open streams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import type { BusEvents } from '../../edge-agent/src/bus.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { WeightEventRepository } from '../../edge-agent/src/db/repositories/weight-events.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { LiveSnapshot } from '../../edge-agent/src/admin/pages/live-api.js';
import { addUsers, PASSWORDS, signIn, type Signed } from '../support/admin.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAgent() {
  const config = devicelessConfig(tempDir());
  const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
  await agent.start();
  let stopped = false;
  cleanups.push(async () => void (stopped ? undefined : await agent.stop('test')));
  await addUsers(agent.database);
  const viewer = await signIn(agent.adminUrl!, 'viewer', PASSWORDS.viewer);
  return { agent, config, url: agent.adminUrl!, viewer, markStopped: () => (stopped = true) };
}

interface Frame {
  name: string;
  data: any;
  receivedAt: number;
}

/** An open `/api/live/events` stream, its frames parsed as they arrive. */
async function openStream(url: string, signed: Signed) {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/live/events`, { headers: { cookie: signed.cookie, accept: 'text/event-stream' }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const frames: Frame[] = [];
  let ended = false;
  const reading = (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const name = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (name && data) frames.push({ name, data: JSON.parse(data), receivedAt: Date.now() });
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  const next = async (name: string, match: (data: any) => boolean, timeoutMs = 5_000, from = 0): Promise<Frame> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.slice(from).find((f) => f.name === name && match(f.data));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${name} frame matching within ${timeoutMs} ms; got ${frames.map((f) => f.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { frames, next, reading, ended: () => ended, close: () => controller.abort() };
}

const track = (id: string, x: number, y: number, at: number, seen = true): BusEvents['vision.shoppers']['tracks'][number] => ({
  id,
  x,
  y,
  vx: 0,
  vy: 0,
  at,
  firstSeenAt: at,
  sources: seen ? [{ camera: 'cam-overhead-1', trackId: 1 }] : [],
});

describe('live store API', { timeout: 60_000 }, () => {
  it('refuses anonymous callers and gives a viewer the snapshot of the floor', async () => {
    const { url, viewer, config } = await startAgent();
    for (const path of ['/api/live', '/api/live/events']) {
      const anon = await fetch(`${url}${path}`, { headers: { accept: 'application/json' } });
      expect(anon.status, path).toBe(401);
    }
    const page = await fetch(`${url}/live`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    const html = await viewer.fetch('/live', { headers: { accept: 'text/html' } });
    expect(html.status).toBe(200);
    const text = await html.text();
    expect(text).toContain('<script src="/assets/live.js"></script>');
    expect(text).not.toMatch(/<script>|style="/);
    for (const asset of ['/assets/live.js', '/assets/live.css']) expect((await fetch(`${url}${asset}`)).status, asset).toBe(200);

    const res = await viewer.fetch('/api/live');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    expect(body).not.toMatch(/\n\s+at /);
    const snap = JSON.parse(body) as LiveSnapshot;
    expect(snap.store).toEqual({ name: config.store.name, currency: 'EUR', timezone: 'Europe/Berlin' });
    expect(snap.floor.widthM).toBe(12);
    expect(snap.floor.depthM).toBe(8);
    expect(snap.floor.zones.map((z) => z.id)).toEqual(config.zones.map((z) => z.id));
    expect(snap.floor.zones[0]).toMatchObject({ id: 'entry', name: expect.any(String), type: 'entry', polygon: [[0, 6.5], [2, 6.5], [2, 8], [0, 8]] });
    expect(snap.floor.gondolas).toHaveLength(2);
    // Gondola 1 faces +y from (3, 2.6); its body lies towards -y. Gondola 2 is turned round.
    expect(snap.floor.gondolas[0]!.polygon).toEqual([[3, 2.6], [6, 2.6], [6, 2], [3, 2]]);
    expect(snap.floor.gondolas[0]!.front).toEqual([[3, 2.6], [6, 2.6]]);
    expect(snap.floor.gondolas[1]!.polygon).toEqual([[6, 5], [3, 5], [3, 5.6], [6, 5.6]]);
    const shelves = snap.floor.gondolas.flatMap((g) => g.shelves);
    expect(shelves.map((s) => s.key)).toContain('1.1');
    expect(shelves.find((s) => s.key === '1.1')!.plates.map((p) => p.key)).toContain('1.1.1');
    expect(snap.shoppers).toEqual([]);
    expect(snap.sessions).toEqual([]);
    expect(snap.events).toEqual([]);
    expect(snap.occupancy).toMatchObject({ occupancy: 0, tracked: 0, openSessions: 0, shoppersInSessions: 0, footfall: { entries: 0, exits: 0, since: expect.any(Number) } });
    expect(snap.occupancy.footfall!.since).toBeLessThanOrEqual(snap.at);
    expect(snap.at - snap.occupancy.footfall!.since).toBeLessThan(25 * 3_600_000);
    // Local midnight in Berlin.
    const wall = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).format(snap.occupancy.footfall!.since);
    expect(wall).toBe('00:00');
  });

  it('streams shoppers from vision at most ~5 times a second, and shows them in the next snapshot', async () => {
    const { agent, url, viewer } = await startAgent();
    const stream = await openStream(url, viewer);
    cleanups.push(async () => stream.close());
    // A new stream starts with the current state.
    await stream.next('shoppers', (d) => Array.isArray(d.shoppers) && d.shoppers.length === 0);
    await stream.next('sessions', (d) => Array.isArray(d.sessions));
    await stream.next('occupancy', (d) => d.occupancy === 0);

    const t0 = Date.now();
    agent.bus.emit('vision.shoppers', { at: t0, tracks: [track('shopper-7', 4.5, 3.2, t0)], ended: [] });
    const shown = await stream.next('shoppers', (d) => d.shoppers.some((s: any) => s.id === 'shopper-7'));
    expect(shown.data.shoppers).toEqual([{ id: 'shopper-7', x: 4.5, y: 3.2, at: t0, seen: true, staff: false, token: null }]);
    expect(shown.receivedAt - t0).toBeLessThan(1_000);
    await stream.next('occupancy', (d) => d.occupancy === 1 && d.tracked === 1);
    const snap = (await (await viewer.fetch('/api/live')).json()) as LiveSnapshot;
    expect(snap.shoppers.map((s) => s.id)).toEqual(['shopper-7']);
    expect(snap.occupancy.occupancy).toBe(1);

    // Vision reports 10 times in 100 ms per camera and shopper: the page gets at most a few.
    const before = stream.frames.length;
    const burstAt = Date.now();
    for (let i = 0; i < 60; i++) {
      const at = Date.now();
      agent.bus.emit('vision.shoppers', { at, tracks: [track('shopper-7', 4.5 + i * 0.02, 3.2, at), track('shopper-8', 8, 4, at)], ended: [] });
      await new Promise((r) => setTimeout(r, 10));
    }
    const burstMs = Date.now() - burstAt;
    await stream.next('shoppers', (d) => d.shoppers.some((s: any) => s.id === 'shopper-7' && Math.abs(s.x - (4.5 + 59 * 0.02)) < 0.01), 2_000, before);
    const sent = stream.frames.slice(before).filter((f) => f.name === 'shoppers').length;
    expect(sent).toBeLessThanOrEqual(Math.ceil(burstMs / 200) + 2);
    expect(sent).toBeGreaterThan(1);

    // An ended track goes at once; one not placed for 3 s goes by itself.
    const endedAt = Date.now();
    const beforeEnd = stream.frames.length;
    agent.bus.emit('vision.shoppers', { at: endedAt, tracks: [track('shopper-8', 8, 4.1, endedAt, false)], ended: ['shopper-7'] });
    const after = await stream.next('shoppers', (d) => !d.shoppers.some((s: any) => s.id === 'shopper-7'), 5_000, beforeEnd);
    expect(after.data.shoppers).toMatchObject([{ id: 'shopper-8', seen: false }]);
    await stream.next('shoppers', (d) => d.shoppers.length === 0, 6_000, beforeEnd);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(2_500);
    expect(((await (await viewer.fetch('/api/live')).json()) as LiveSnapshot).shoppers).toEqual([]);
  });

  it('lists gate passes and weight events in recent events, newest first, and counts footfall', async () => {
    const { agent, url, viewer } = await startAgent();
    const stream = await openStream(url, viewer);
    cleanups.push(async () => stream.close());
    await stream.next('occupancy', () => true);

    const gates = new GateEventRepository(agent.database.handle);
    const pass = gates.record({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: Date.now() });
    agent.bus.emit('gate.event', pass);
    const event = await stream.next('event', (d) => d.type === 'gate');
    expect(event.data).toMatchObject({ type: 'gate', text: 'gate-entry: pass in', at: pass.at, id: expect.any(Number) });
    await stream.next('occupancy', (d) => d.footfall?.entries === 1 && d.footfall.exits === 0);

    const weights = new WeightEventRepository(agent.database.handle);
    const pick = weights.record({
      shelf: '1.2',
      plates: ['1.2.1'],
      tStart: Date.now() - 800,
      tEnd: Date.now(),
      deltaGrams: -701.4,
      perPlate: { '1.2.1': -701.4 },
      noiseSigma: 3,
      kind: 'pick',
      candidates: [{ product: 'cola-can-330', count: 2, probability: 0.97, misplaced: false }],
      flags: [],
    });
    agent.bus.emit('shelf.weight-event', pick);
    const weight = await stream.next('event', (d) => d.type === 'weight');
    expect(weight.data).toMatchObject({ text: 'pick · 2 × Cola 330 ml can · −701 g · shelf 1.2', level: 'info', plates: ['1.2.1'] });

    const snap = (await (await viewer.fetch('/api/live')).json()) as LiveSnapshot;
    // The pick may also have changed a shelf screen's card; the page's own events come newest first.
    expect(snap.events.map((e) => e.type).filter((t) => t !== 'signage')).toEqual(['weight', 'gate']);
    expect(snap.events.map((e) => e.id)).toEqual([...snap.events.map((e) => e.id)].sort((a, b) => b - a));
    expect(snap.occupancy.footfall).toMatchObject({ entries: 1, exits: 0 });
  });

  it('ends open streams when the agent stops, without holding the stop up', async () => {
    const { agent, url, viewer, markStopped } = await startAgent();
    const streams = [await openStream(url, viewer), await openStream(url, viewer)];
    for (const s of streams) await s.next('occupancy', () => true);
    const t0 = Date.now();
    markStopped();
    await agent.stop('test');
    expect(Date.now() - t0).toBeLessThan(5_000);
    await Promise.all(streams.map((s) => s.reading));
    expect(streams.every((s) => s.ended())).toBe(true);
    // No listener of the page is left on the bus.
    expect(agent.bus.listenerCount('vision.shoppers')).toBe(0);
  });
});
