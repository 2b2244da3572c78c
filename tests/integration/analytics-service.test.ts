/**
 * The analytics service in its real surroundings: a SQLite file, the typed bus, shoppers arriving
 * as the vision service announces them, weight events and RFID reads as their monitors announce
 * them. What is announced must already be stored; staff never count, however they are found.
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../device-config/validate.js';
import type { StoreConfig } from '../../device-config/schema.js';
import { AnalyticsService } from '../../edge-agent/src/analytics/analytics-service.js';
import { EventBus, type BusEvents } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { AnalyticsRepository } from '../../edge-agent/src/db/repositories/analytics.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ShopperTrack } from '../../edge-agent/src/vision/store-tracks.js';
import { demoRaw } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const BADGE = 'E2801190';

function store(dataDir: string): StoreConfig {
  const raw = demoRaw();
  raw['analytics'] = { staffBadges: [BADGE] };
  const checked = validateConfig(raw);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return { ...checked.config, dataDir };
}

interface Rig {
  config: StoreConfig;
  bus: EventBus;
  database: StoreDatabase;
  service: AnalyticsService;
  events: { name: keyof BusEvents; payload: unknown; storedRows: number }[];
  /** Walks shoppers through straight segments at 5 fps; `at` moves on. */
  walk(paths: Record<string, [number, number][]>, seconds: number): void;
  at: number;
}

const open: Rig[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.service.stop();
    await r.database.stop();
  }
});

async function rig(): Promise<Rig> {
  const dataDir = tempDir();
  const config = store(dataDir);
  const bus = new EventBus(silentLogger());
  const database = new StoreDatabase(dataDir, silentLogger());
  const service = new AnalyticsService({ config, database, bus, log: silentLogger() });
  await database.start();
  await service.start();
  const events: Rig['events'] = [];
  const countRows = () => !database.isOpen ? -1 : (database.handle.prepare('SELECT (SELECT COUNT(*) FROM zone_visits) + (SELECT COUNT(*) FROM store_visits) AS n').get() as { n: number }).n;
  for (const name of ['analytics.dwell-started', 'analytics.lingering', 'analytics.zone-visit', 'analytics.store-visit', 'analytics.staff', 'analytics.pick'] as const) {
    bus.on(name, 'test', (payload) => void events.push({ name, payload, storedRows: countRows() }));
  }
  const r: Rig = {
    config,
    bus,
    database,
    service,
    events,
    at: T0,
    walk(paths, seconds) {
      const frames = Math.round(seconds * 5);
      for (let f = 0; f < frames; f++) {
        const tracks: ShopperTrack[] = [];
        for (const [id, path] of Object.entries(paths)) {
          const u = frames === 1 ? 1 : f / (frames - 1);
          const [a, b] = [path[0]!, path[path.length - 1]!];
          tracks.push({ id, x: a[0] + (b[0] - a[0]) * u, y: a[1] + (b[1] - a[1]) * u, vx: 0, vy: 0, at: r.at, firstSeenAt: T0, sources: [{ camera: 'cam-overhead-1', trackId: 1 }] });
        }
        bus.emit('vision.shoppers', { at: r.at, tracks, ended: [] });
        r.at += 200;
      }
    },
  };
  open.push(r);
  return r;
}

const end = (r: Rig, ...ids: string[]) => r.bus.emit('vision.shoppers', { at: r.at, tracks: [], ended: ids });
const of = <K extends keyof BusEvents>(r: Rig, name: K) => r.events.filter((e) => e.name === name) as { name: K; payload: BusEvents[K]; storedRows: number }[];

describe('analytics service', () => {
  it('stores each visit before announcing it, and credits a pick to the shopper at the shelf', async () => {
    const r = await rig();
    // In at the entrance, along to gondola 1's front, stand there, then out through the exit.
    r.walk({ a: [[1, 7], [1, 7]] }, 2);
    r.walk({ a: [[1, 7], [4, 3.1]] }, 4);
    r.walk({ a: [[4, 3.1], [4, 3.1]] }, 10);
    const pickAt = r.at - 3_000;
    r.bus.emit('shelf.weight-event', {
      id: 1, shelf: '1.2', plates: ['1.2.1'], tStart: pickAt - 1_000, tEnd: pickAt, deltaGrams: -330, perPlate: { '1.2.1': -330 },
      noiseSigma: 1, kind: 'pick', candidates: [], flags: [],
    });
    r.walk({ a: [[4, 3.1], [11, 7]] }, 8);
    end(r, 'a');

    const started = of(r, 'analytics.dwell-started').map((e) => e.payload.zone);
    expect(started).toEqual(expect.arrayContaining(['entry', 'front-1', 'exit']));
    const visits = of(r, 'analytics.zone-visit');
    expect(visits.length).toBeGreaterThanOrEqual(3);
    const rows = new AnalyticsRepository(r.database.handle).zoneVisits(0, Number.MAX_SAFE_INTEGER);
    for (const v of visits) {
      const row = rows.find((x) => x.id === v.payload.id);
      expect(row, `visit ${v.payload.id} is in the database`).toBeDefined();
      expect(row).toMatchObject({ shopper: 'a', zone: v.payload.zone, picks: v.payload.picks });
    }
    const front = visits.find((v) => v.payload.zone === 'front-1')!.payload;
    expect(front.picks).toBe(1);
    expect(front.dwellSeconds).toBeGreaterThan(10);
    expect(of(r, 'analytics.pick').map((e) => e.payload)).toEqual([expect.objectContaining({ shopper: 'a', shelf: '1.2', zone: 'front-1' })]);
    const storeVisit = of(r, 'analytics.store-visit');
    expect(storeVisit).toHaveLength(1);
    expect(storeVisit[0]!.payload).toMatchObject({ shopper: 'a', picks: 1, entryZone: 'entry', exitZone: 'exit' });
    expect(storeVisit[0]!.storedRows).toBe(rows.length + 1);
  });

  it('announces a shopper lingering at a shelf without a pick, once', async () => {
    const r = await rig();
    r.walk({ b: [[5, 3.1], [5, 3.1]] }, 30);
    const lingering = of(r, 'analytics.lingering');
    expect(lingering).toHaveLength(1);
    expect(lingering[0]!.payload).toMatchObject({ shopper: 'b', zone: 'front-1', gondola: 1 });
    expect(lingering[0]!.payload.at - lingering[0]!.payload.enteredAt).toBeGreaterThanOrEqual(20_000);
  });

  it('leaves out staff: from the staff-only zone, by badge, and marked by staff tools while the agent runs', async () => {
    const r = await rig();
    // "s" comes out of the back room; "c" is a shopper who shops first and walks into it later.
    r.walk({ s: [[11, 1], [11, 1]], c: [[4, 3.1], [4, 3.1]] }, 3);
    r.walk({ s: [[11, 1], [9, 4]], c: [[4, 3.1], [4, 6]] }, 3);
    r.walk({ s: [[9, 4], [9, 4]], c: [[4, 6], [11, 1]] }, 8);
    // "g" stands at gondola 1 and a staff badge is read on the shelf in front of them.
    r.walk({ g: [[5, 3.1], [5, 3.1]] }, 2);
    r.bus.emit('rfid.tag', { reader: 'rfid-1', antenna: 1, shelf: '1.2', epc: `${BADGE}00000000000000AB`, gtin: null, serial: null, product: null, kind: 'seen', rssi: -50, at: r.at });
    // "m" is marked by a member of staff from another process.
    r.walk({ m: [[8, 4], [8, 4]] }, 2);
    const other = new BetterSqlite3(join(r.config.dataDir, 'store.db'));
    other.prepare("INSERT INTO staff_marks (shopper, reason, marked_by, at) VALUES ('m', 'admin', 'test', ?)").run(r.at);
    other.close();
    await new Promise((done) => setTimeout(done, 2_300));
    r.walk({ g: [[5, 3.1], [5, 3.1]], m: [[8, 4], [9, 4]] }, 2);
    end(r, 's', 'c', 'g', 'm');
    await r.service.stop();

    const staff = of(r, 'analytics.staff').map((e) => [e.payload.shopper, e.payload.reason]);
    expect(staff).toEqual(expect.arrayContaining([['s', 'staff-zone'], ['c', 'staff-zone'], ['g', 'badge'], ['m', 'admin']]));
    const db = r.database.handle;
    const counted = db.prepare('SELECT DISTINCT shopper FROM zone_visits WHERE excluded IS NULL UNION SELECT shopper FROM store_visits WHERE excluded IS NULL').all();
    expect(counted).toEqual([]);
    // "c" had a visit stored before it turned out to be staff: withdrawn, not deleted.
    expect(db.prepare("SELECT excluded FROM zone_visits WHERE shopper = 'c'").all()).toEqual(expect.arrayContaining([{ excluded: 'staff' }]));
    expect(db.prepare('SELECT COUNT(*) AS n FROM dwell_hourly').get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT shopper, reason FROM staff_marks ORDER BY id").all()).toEqual(
      expect.arrayContaining([{ shopper: 's', reason: 'staff-zone' }, { shopper: 'g', reason: 'badge' }, { shopper: 'm', reason: 'admin' }]),
    );
  }, 20_000);

  it('ends open visits at shutdown, rebuilds the hourly tables, and survives a database that went away', async () => {
    const r = await rig();
    r.walk({ d: [[8.5, 4.2], [9.5, 4.8]] }, 6);
    await r.service.stop();
    const db = r.database.handle;
    expect(db.prepare("SELECT zone, ROUND(dwell_seconds) AS s FROM zone_visits WHERE shopper = 'd'").all()).toEqual([{ zone: 'promo', s: 6 }]);
    expect(db.prepare('SELECT zone, visits FROM dwell_hourly').all()).toEqual([{ zone: 'promo', visits: 1 }]);
    expect(db.prepare('SELECT visits_started, peak_occupancy FROM footfall_hourly').all()).toEqual([{ visits_started: 1, peak_occupancy: 1 }]);
    expect((db.prepare('SELECT SUM(seconds) AS s FROM heatmap_hourly').get() as { s: number }).s).toBeCloseTo(6, 1);

    await r.service.start();
    await r.database.stop();
    r.walk({ e: [[8.5, 3.5], [9.5, 4.5]] }, 3);
    r.walk({ e: [[9.5, 4.5], [11, 7]] }, 5);
    expect(() => end(r, 'e')).not.toThrow();
    const health = r.service.health();
    expect(health.status).toBe('degraded');
    expect((health['counters'] as Record<string, number>)['storeFailures']).toBeGreaterThan(0);
    expect(r.bus.listenerFailures).toBe(0);
    // Nothing that was not stored is announced as stored.
    expect(of(r, 'analytics.zone-visit').filter((e) => e.payload.shopper === 'e')).toEqual([]);
    expect(of(r, 'analytics.store-visit').filter((e) => e.payload.shopper === 'e')).toEqual([]);
    await r.database.start();
  });
});
