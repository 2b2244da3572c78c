import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { LiveClock } from '../../edge-agent/src/clock.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { RetentionJob } from '../../edge-agent/src/db/retention.js';
import type { DeviceAvailability } from '../../edge-agent/src/devices/device-availability.js';
import { GateAdapter } from '../../edge-agent/src/devices/gate/gate-adapter.js';
import type { GateEvent } from '../../edge-agent/src/devices/gate/gate-event.js';
import { encodeGateLine } from '../../edge-agent/src/devices/gate/gate-protocol.js';
import { createTransport } from '../../edge-agent/src/devices/serial/transport-factory.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { DeviceEnd, PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp() {
  const database = new StoreDatabase(tempDir(), silentLogger());
  await database.start();
  cleanups.push(() => database.stop());
  const pair = new PtyPair(tempDir());
  await pair.plugIn();
  cleanups.push(() => pair.unplug());
  const bus = new EventBus(silentLogger());
  const events: GateEvent[] = [];
  const storedWhenEmitted: boolean[] = [];
  const repo = new GateEventRepository(database.handle);
  bus.on('gate.event', 'test', (e) => {
    events.push(e);
    storedWhenEmitted.push(repo.between(e.at, e.at + 1).some((s) => s.id === e.id));
  });
  const availability: DeviceAvailability[] = [];
  bus.on('device.availability', 'test', (a) => void availability.push(a));
  const clock = new LiveClock();
  const adapter = new GateAdapter({
    gate: 'entry-1',
    url: `serial://${pair.a}`,
    transport: (url) => createTransport(url, { clock }),
    clock,
    log: silentLogger(),
    bus,
    store: database,
    backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
  });
  await adapter.start();
  cleanups.push(() => adapter.stop());
  const device = await DeviceEnd.open(pair.b);
  cleanups.push(() => device.close());
  return { database, pair, repo, adapter, events, storedWhenEmitted, availability, device };
}

describe('GateAdapter on a pty', () => {
  it('stores each reading in SQLite and then emits it on the bus with its id', async () => {
    const h = await setUp();
    // A gate is online as soon as its port opens: it is silent until someone comes.
    await waitFor(() => h.availability.length === 1);
    expect(h.availability[0]).toMatchObject({ device: 'entry-1', kind: 'gate', online: true });
    const t0 = Date.now();
    await h.device.write(
      Buffer.concat([
        encodeGateLine({ kind: 'scan', token: 'app1:7f3a9c20e1', deviceTs: 1_200_345 }),
        Buffer.from('PASS SIDEWAYS\r\n'),
        encodeGateLine({ kind: 'pass', direction: 'in', deviceTs: 1_201_120 }, '\n'),
        encodeGateLine({ kind: 'pass', direction: 'out' }),
      ]),
    );
    await waitFor(() => h.events.length === 3);
    const t1 = Date.now();
    expect(h.events.map(({ id: _id, at: _at, ...rest }) => rest)).toEqual([
      { gate: 'entry-1', kind: 'scan', token: 'app1:7f3a9c20e1', deviceTs: 1_200_345 },
      { gate: 'entry-1', kind: 'pass', direction: 'in', deviceTs: 1_201_120 },
      { gate: 'entry-1', kind: 'pass', direction: 'out' },
    ]);
    for (const e of h.events) {
      expect(Number.isInteger(e.at)).toBe(true);
      expect(e.at).toBeGreaterThanOrEqual(t0 - 1);
      expect(e.at).toBeLessThanOrEqual(t1 + 1);
    }
    expect(new Set(h.events.map((e) => e.id)).size).toBe(3);
    expect(h.storedWhenEmitted).toEqual([true, true, true]);
    expect(h.repo.between(0, Number.MAX_SAFE_INTEGER)).toEqual(h.events);
    const health = h.adapter.health();
    expect(health).toMatchObject({ status: 'up', counters: { scans: 1, passes: 2, malformed: 1, stored: 3, storeFailures: 0 } });
    expect(health['lastProblem']).toMatch(/not SCAN/);
  });

  it('does not announce a reading it could not store', async () => {
    const h = await setUp();
    await waitFor(() => h.availability.length === 1);
    await h.database.stop();
    await h.device.write(encodeGateLine({ kind: 'pass', direction: 'in' }));
    await waitFor(() => (h.adapter.health()['counters'] as Record<string, number>)['storeFailures'] === 1);
    expect(h.events).toEqual([]);
    expect(h.adapter.health().status).toBe('up');
  });

  it('goes offline when the gate is unplugged', async () => {
    const h = await setUp();
    await waitFor(() => h.availability.length === 1);
    expect(h.adapter.health().status).toBe('up');
    await h.device.close();
    await h.pair.unplug();
    await waitFor(() => h.availability.length === 2);
    expect(h.availability[1]).toMatchObject({ device: 'entry-1', kind: 'gate', online: false });
    expect(h.adapter.health()).toMatchObject({ status: 'degraded' });
  });
});

describe('gate events repository and retention', () => {
  it('returns events in a time range and expires them with the sessions data class', async () => {
    const database = new StoreDatabase(tempDir(), silentLogger());
    await database.start();
    cleanups.push(() => database.stop());
    const repo = new GateEventRepository(database.handle);
    const DAY = 86_400_000;
    const now = 1_000 * DAY;
    const old = repo.record({ gate: 'exit-1', kind: 'pass', direction: 'out', at: now - 40 * DAY });
    const recent = repo.record({ gate: 'entry-1', kind: 'scan', token: 'card-1', at: now - DAY + 0.4 });
    expect(recent.at).toBe(now - DAY);
    expect(repo.between(now - 2 * DAY, now)).toEqual([recent]);
    expect(repo.between(0, now)).toEqual([old, recent]);
    expect(() => repo.record({ gate: 'g', kind: 'scan', at: now })).toThrow(/CHECK constraint/);
    const retention = { observationsDays: 7, sessionsDays: 30, receiptsDays: 400, analyticsDays: 400, operationsDays: 90, intervalMinutes: 60 };
    const report = await new RetentionJob(database, retention, silentLogger(), undefined, () => now).runOnce();
    expect(report.deleted['gate_events']).toBe(1);
    expect(repo.between(0, now)).toEqual([recent]);
  });
});
