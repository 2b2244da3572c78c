/**
 * Operational alerts on a real store database: a device offline past its grace period is down
 * (one alert, resolved when it is back; a reconnect blip raises nothing), and a disk with less
 * free space than the threshold is low. Each alert and its resolution is an outbox message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlertsService } from '../../edge-agent/src/alerts/alerts-service.js';
import { EventBus } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { availability } from '../../edge-agent/src/devices/device-availability.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { bareConfig, demoConfig } from '../support/demo-config.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { AlertRepository } from '../../edge-agent/src/db/repositories/alerts.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openStore(alerts: Partial<ReturnType<typeof bareConfig>['alerts']>) {
  const dir = tempDir();
  const base = bareConfig(dir);
  const config = { ...base, alerts: { ...base.alerts, ...alerts } };
  const database = new StoreDatabase(dir, silentLogger());
  await database.start();
  cleanups.push(() => database.stop());
  const bus = new EventBus(silentLogger());
  const events: string[] = [];
  bus.on('alert.raised', 'test', (a) => void events.push(`raised ${a.kind} ${a.subject}`));
  bus.on('alert.resolved', 'test', (a) => void events.push(`resolved ${a.kind} ${a.subject}`));
  const service = new AlertsService({ config, database, bus, log: silentLogger() });
  const outbox = () => new OutboxRepository(database.handle).oldest(100).map((r) => `${r.topic} ${(r.payload as { kind: string; subject: string }).kind} ${(r.payload as { subject: string }).subject}`);
  return { config, database, bus, events, service, outbox };
}

describe('store alerts', () => {
  it('raises device-down after the grace period, once, and resolves it when the device is steadily back; a blip raises nothing, flapping resolves nothing', async () => {
    const s = await openStore({ deviceDownSeconds: 0.3, diskLowMb: 0 });
    await s.service.start();
    cleanups.push(() => s.service.stop());
    // A blip: offline and back within the grace period.
    s.bus.emit('device.availability', availability('cam-1', 'camera', false, 'stream ended', 1_000));
    await sleep(100);
    s.bus.emit('device.availability', availability('cam-1', 'camera', true, undefined, 1_100));
    // A real outage, announced twice (a retry that failed again).
    s.bus.emit('device.availability', availability('shelf-1.1', 'scale', false, 'no answer', 2_000));
    await sleep(100);
    s.bus.emit('device.availability', availability('shelf-1.1', 'scale', false, 'no answer', 2_100));
    await sleep(500);
    expect(s.events).toEqual(['raised device-down shelf-1.1']);
    expect(s.service.health()).toMatchObject({ status: 'degraded', devicesDown: ['shelf-1.1'], detail: expect.stringMatching(/devices down: shelf-1.1/) });
    // Back, but dropping again at once (a port that accepts and closes): still down, nothing resolved.
    for (let i = 0; i < 6; i++) {
      s.bus.emit('device.availability', availability('shelf-1.1', 'scale', true, undefined, 3_000 + i * 100));
      await sleep(50);
      s.bus.emit('device.availability', availability('shelf-1.1', 'scale', false, 'closed', 3_050 + i * 100));
      await sleep(50);
    }
    expect(s.events).toEqual(['raised device-down shelf-1.1']);
    // Back for good: resolved once it has stayed online (the grace period here, 10 s at most).
    s.bus.emit('device.availability', availability('shelf-1.1', 'scale', true, undefined, 9_000));
    expect(s.events).toEqual(['raised device-down shelf-1.1']);
    await sleep(400);
    expect(s.events).toEqual(['raised device-down shelf-1.1', 'resolved device-down shelf-1.1']);
    expect(s.service.health()).toMatchObject({ status: 'up', devicesDown: [] });
    expect(s.outbox()).toEqual(['alert.raised device-down shelf-1.1', 'alert.resolved device-down shelf-1.1']);
  });

  it('raises disk-low when free space is under the threshold and resolves it when it is not', async () => {
    // No disk has a petabyte free: the threshold is crossed on the real file system.
    const low = await openStore({ diskLowMb: 1_000_000_000 });
    await low.service.start();
    expect(low.events).toEqual([`raised disk-low ${low.config.store.id}`]);
    const health = low.service.health();
    expect(health).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/disk low: \d+ MB free/) });
    expect(health['diskFreeMb']).toBeGreaterThan(0);
    await low.service.checkDisk();
    expect(low.events).toHaveLength(1);
    await low.service.stop();
    // The same store with a threshold the disk satisfies: the open alert is resolved.
    const raisedRows = low.outbox();
    const ok = new AlertsService({ config: { ...low.config, alerts: { ...low.config.alerts, diskLowMb: 1 } }, database: low.database, bus: low.bus, log: silentLogger() });
    await ok.start();
    // A fresh service does not know the alert is open until it looks: it resolves what the database holds.
    expect(low.events).toEqual([`raised disk-low ${low.config.store.id}`, `resolved disk-low ${low.config.store.id}`]);
    await ok.stop();
    expect(raisedRows).toEqual([`alert.raised disk-low ${low.config.store.id}`]);
    expect(low.outbox()).toEqual([`alert.raised disk-low ${low.config.store.id}`, `alert.resolved disk-low ${low.config.store.id}`]);
  });
});

describe('faults the store box meets', { timeout: 60_000 }, () => {
  it('a critically full disk runs retention first, then refuses new sessions until space is back', async () => {
    const s = await openStore({ diskLowMb: 0, diskCriticalMb: 1_000_000_000 });
    const calls: string[] = [];
    const service = new AlertsService({
      config: s.config,
      database: s.database,
      bus: s.bus,
      log: silentLogger(),
      freeSpace: async () => void calls.push('retention'),
      diskCritical: (reason) => void calls.push(reason === undefined ? 'accept' : 'refuse'),
    });
    await service.start();
    expect(calls).toEqual(['retention', 'refuse']);
    expect(s.events).toEqual([`raised disk-critical ${s.config.store.id}`]);
    expect(service.health()).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/no new shopper sessions/) });
    await service.checkDisk();
    expect(calls).toEqual(['retention', 'refuse']);
    await service.stop();
    // Space is back (the threshold is under what the disk has): sessions are accepted again.
    const relieved = new AlertsService({ config: { ...s.config, alerts: { ...s.config.alerts, diskCriticalMb: 1 } }, database: s.database, bus: s.bus, log: silentLogger(), diskCritical: (r) => void calls.push(r === undefined ? 'accept' : 'refuse') });
    await relieved.start();
    await relieved.stop();
    // A fresh service does not know it refused: the agent's checkout is told only on a change it saw.
    expect(s.events.at(-1)).toBe(`raised disk-critical ${s.config.store.id}`);
  });

  it('the agent on a critically full disk refuses scans at the gate: no new session opens', async () => {
    const base = demoConfig(tempDir());
    const config = { ...base, cameras: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0, diskCriticalMb: 1_000_000_000 } };
    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    const gate = config.gates.find((g) => g.kind !== 'exit')!.id;
    agent.bus.emit('gate.event', { id: 1, gate, kind: 'scan', token: 'tok-late', at: Date.now() });
    const checkout = agent.health().components['checkout'] as unknown as { acceptingSessions: boolean; counters: { refusedScans: number }; detail?: string };
    expect(checkout.acceptingSessions).toBe(false);
    expect(checkout.counters.refusedScans).toBe(1);
    expect(checkout.detail).toMatch(/no new shopper sessions: \d+ MB free/);
    expect(new AlertRepository(agent.database.handle).open().map((a) => a.kind)).toContain('disk-critical');
  });

  it('notices the wall clock jumping against the monotonic clock, both ways', async () => {
    const s = await openStore({ diskLowMb: 0, clockJumpSeconds: 2 });
    let wall = Date.UTC(2026, 11, 6, 10);
    let mono = 1_000;
    const service = new AlertsService({ config: s.config, database: s.database, bus: s.bus, log: silentLogger(), clock: () => wall, monotonic: () => mono, watchClock: true });
    await service.start();
    cleanups.push(() => service.stop());
    const step = (wallMs: number, monoMs: number) => {
      wall += wallMs;
      mono += monoMs;
      service.checkClock();
    };
    step(1_000, 1_000);
    step(1_500, 1_000); // NTP slewing a little: not a jump
    expect(s.events).toEqual([]);
    step(3_600_000, 1_000); // an hour forward (a wrong RTC corrected)
    step(-7_200_000, 1_000); // two hours back
    expect(s.events).toEqual([`raised clock-jump ${s.config.store.id}@2026-12-06T11:00`, `raised clock-jump ${s.config.store.id}@2026-12-06T09:00`]);
    expect(service.health()['counters']).toMatchObject({ clockJumps: 2 });
    // Keeping time for an hour ends both; they do not pile up.
    step(1_800_000, 1_800_000);
    expect(s.events).toHaveLength(2);
    step(1_800_000, 1_800_000);
    expect(s.events.slice(2).sort()).toEqual([`resolved clock-jump ${s.config.store.id}@2026-12-06T09:00`, `resolved clock-jump ${s.config.store.id}@2026-12-06T11:00`]);
  });
});
