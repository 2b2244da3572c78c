import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { TSchema } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../device-config/schema.js';
import type { StoreVisit, ZoneVisit } from '../../edge-agent/src/analytics/floor-analytics.js';
import { HourlySummary } from '../../edge-agent/src/analytics/hourly-summary.js';
import { HOUR } from '../../edge-agent/src/analytics/local-hours.js';
import { StoreDatabase, openDatabase, type Database } from '../../edge-agent/src/db/database.js';
import { migrate } from '../../edge-agent/src/db/migrate.js';
import { MIGRATIONS } from '../../edge-agent/src/db/migrations/index.js';
import { AnalyticsRepository } from '../../edge-agent/src/db/repositories/analytics.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { OutboxRepository, type OutboxRow } from '../../edge-agent/src/db/repositories/outbox.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { HourlySummaries, SummaryWriter, type ExposureSource } from '../../sync/hourly-summaries.js';
import { DwellSummaryPayload, ExposureSummaryPayload, FootfallSummaryPayload, HeatmapSummaryPayload } from '../../sync/summary-payloads.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const MIN = 60_000;
/** 10:00 UTC, 11:00 on the demo store's wall clock (Europe/Berlin, winter). */
const H = Date.UTC(2026, 2, 2, 10, 0, 0);
const DELAY = 10 * MIN;

const ajv = new Ajv({ strict: false });
const validators: Record<string, (payload: unknown) => boolean> = {
  'summary.footfall': ajv.compile(FootfallSummaryPayload as TSchema),
  'summary.dwell': ajv.compile(DwellSummaryPayload as TSchema),
  'summary.heatmap': ajv.compile(HeatmapSummaryPayload as TSchema),
  'summary.exposures': ajv.compile(ExposureSummaryPayload as TSchema),
};

interface Store {
  db: Database;
  config: StoreConfig;
  repo: AnalyticsRepository;
  summary: HourlySummary;
  outbox: OutboxRepository;
}

const opened: Database[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

function openStore(): Store {
  const dir = tempDir();
  const db = openDatabase(join(dir, 'store.db'));
  opened.push(db);
  migrate(db, MIGRATIONS);
  const config = demoConfig(dir);
  const repo = new AnalyticsRepository(db);
  return { db, config, repo, summary: new HourlySummary(db, repo), outbox: new OutboxRepository(db) };
}

function agentRun(db: Database, startedAt: number): void {
  db.prepare("INSERT INTO agent_runs (started_at, agent_version, hostname, pid) VALUES (?, 'test', 'test-host', 1)").run(startedAt);
}

let sessionId = 0;
function receipt(db: Database, closedAt: number, total: number): void {
  sessionId += 1;
  db.prepare("INSERT INTO receipts (session_id, token, currency, total, confidence, status, closed_at, created_at) VALUES (?, ?, 'EUR', ?, 0.9, 'final', ?, ?)").run(
    sessionId,
    `token-${sessionId}`,
    total,
    closedAt,
    closedAt,
  );
}

function zoneVisit(shopper: string, zone: string, enteredAt: number, dwellSeconds: number, extra: Partial<ZoneVisit> = {}): ZoneVisit {
  return { shopper, zone, enteredAt, exitedAt: enteredAt + dwellSeconds * 1000, dwellSeconds, picks: 0, lingered: false, ...extra };
}

function storeVisit(shopper: string, fromMin: number, toMin: number, picks = 0): StoreVisit {
  return { shopper, enteredAt: H + fromMin * MIN, exitedAt: H + toMin * MIN, picks, entryZone: 'entry', exitZone: 'exit' };
}

/** Hours 10 and 11 (UTC) with visits, passes, receipts and heat; hour 12 without anything. */
function seed(s: Store): void {
  const { repo, db } = s;
  const gates = new GateEventRepository(db);
  repo.recordZoneVisit(zoneVisit('s1', 'front-1', H + 5 * MIN, 10, { picks: 1 }));
  repo.recordZoneVisit(zoneVisit('s2', 'front-1', H + 10 * MIN, 30, { lingered: true }));
  repo.recordZoneVisit(zoneVisit('s1', 'promo', H + 6 * MIN, 5));
  repo.recordZoneVisit(zoneVisit('s3', 'front-2', H + 65 * MIN, 12.5));

  repo.recordStoreVisit(storeVisit('s1', 5, 15, 1)); // 10 min
  repo.recordStoreVisit(storeVisit('s2', 10, 12)); // 2 min
  repo.recordStoreVisit(storeVisit('s3', 50, 70, 2)); // 20 min, into hour 11

  for (const [min, direction] of [[4, 'in'], [9, 'in'], [20, 'out'], [62, 'out'], [71, 'out']] as const) {
    gates.record({ gate: 'gate-1', kind: 'pass', direction, at: H + min * MIN });
  }

  receipt(db, H + 15 * MIN, 1250);
  receipt(db, H + 59 * MIN, 399);
  receipt(db, H + HOUR, 500); // hour 11: the boundary belongs to the next hour
  receipt(db, H + 3 * HOUR, 700); // hour 13: not closed yet when the test looks

  const cellM = s.config.analytics.heatmap.cellM;
  repo.addHeat(H, cellM, new Map([[100, 3.5], [5, 1.2], [2, 0.4]]));
  repo.addHeat(H, cellM, new Map([[5, 0.6]]));
  repo.addHeat(H + HOUR, cellM, new Map([[7, 2]]));
  repo.addHeat(H, 1, new Map([[1, 99]])); // another cell size: not this store's heatmap

  s.summary.rebuild([H, H + HOUR, H + 2 * HOUR]);
}

type Row = Omit<OutboxRow, 'payload'> & { payload: Record<string, any> };

function rows(s: Store): Row[] {
  return s.outbox.oldest(10_000) as Row[];
}

function validate(row: Row): void {
  const valid = validators[row.topic];
  expect(valid, row.topic).toBeDefined();
  expect(valid!(row.payload), `${row.topic} ${JSON.stringify(row.payload)}`).toBe(true);
  expect(row.payload.idempotencyKey).toBe(row.idempotencyKey);
}

const iso = (t: number): string => new Date(t).toISOString();
const byTopic = (list: Row[], hour: number): Record<string, Record<string, any>> =>
  Object.fromEntries(list.filter((r) => r.payload.hourStart === iso(hour)).map((r) => [r.topic, r.payload]));

describe('SummaryWriter', () => {
  it('writes one footfall, dwell and heatmap summary per closed hour, none for an hour still open or inside the delay', () => {
    const s = openStore();
    agentRun(s.db, H + MIN);
    seed(s);
    const writer = new SummaryWriter(s.db, s.config);

    // Hour 11 ended five minutes ago: inside the delay.
    expect(writer.writeClosedHours(H + 2 * HOUR + 5 * MIN)).toEqual({ written: 3 });
    expect(rows(s).map((r) => [r.topic, r.payload.hourStart])).toEqual([
      ['summary.footfall', iso(H)],
      ['summary.dwell', iso(H)],
      ['summary.heatmap', iso(H)],
    ]);
    expect(writer.lastWrittenHour).toBe(H);

    const now = H + 3 * HOUR + DELAY;
    expect(writer.writeClosedHours(now)).toEqual({ written: 6 });
    const all = rows(s);
    expect(all).toHaveLength(9);
    for (const r of all) validate(r);
    // Hour 13 is open.
    expect(new Set(all.map((r) => r.payload.hourStart))).toEqual(new Set([iso(H), iso(H + HOUR), iso(H + 2 * HOUR)]));
    expect(writer.lastWrittenHour).toBe(H + 2 * HOUR);

    const first = byTopic(all, H);
    expect(first['summary.footfall']).toEqual({
      v: 1,
      idempotencyKey: `demo-001:footfall:${iso(H)}:r0`,
      storeId: 'demo-001',
      hourStart: iso(H),
      hourEnd: iso(H + HOUR),
      hourLabel: '2026-03-02 11:00',
      revision: 0,
      gateEntries: 2,
      gateExits: 1,
      visitsStarted: 3,
      visitsEnded: 2,
      visitsWithPick: 2,
      visitSeconds: 600 + 120 + 1200,
      peakOccupancy: 2,
      durationBuckets: { upToMinutes: [1, 3, 5, 10, 20], counts: [0, 1, 0, 0, 1, 1] },
      receipts: 2,
      revenue: 1250 + 399,
    });
    expect(first['summary.dwell']!.zones).toEqual([
      { zone: 'front-1', visits: 2, dwellSeconds: 40, medianSeconds: 20, maxSeconds: 30, withPick: 1, lingered: 1 },
      { zone: 'promo', visits: 1, dwellSeconds: 5, medianSeconds: 5, maxSeconds: 5, withPick: 0, lingered: 0 },
    ]);
    expect(first['summary.heatmap']).toMatchObject({
      cellM: 0.25,
      cols: 48, // 12 m × 8 m floor
      rows: 32,
      cells: [[2, 0.4], [5, 1.8], [100, 3.5]],
      totalSeconds: 5.7,
    });

    const second = byTopic(all, H + HOUR);
    expect(second['summary.footfall']).toMatchObject({
      hourLabel: '2026-03-02 12:00',
      gateEntries: 0,
      gateExits: 2,
      visitsStarted: 0,
      visitsEnded: 1,
      peakOccupancy: 1,
      receipts: 1,
      revenue: 500,
    });
    expect(second['summary.dwell']!.zones).toEqual([{ zone: 'front-2', visits: 1, dwellSeconds: 12.5, medianSeconds: 12.5, maxSeconds: 12.5, withPick: 0, lingered: 0 }]);
    expect(second['summary.heatmap']).toMatchObject({ cells: [[7, 2]], totalSeconds: 2 });

    // An hour without any activity is still sent, as zeros.
    const quiet = byTopic(all, H + 2 * HOUR);
    expect(quiet['summary.footfall']).toMatchObject({
      gateEntries: 0,
      gateExits: 0,
      visitsStarted: 0,
      visitsEnded: 0,
      visitsWithPick: 0,
      visitSeconds: 0,
      peakOccupancy: 0,
      durationBuckets: { upToMinutes: [1, 3, 5, 10, 20], counts: [0, 0, 0, 0, 0, 0] },
      receipts: 0,
      revenue: 0,
    });
    expect(quiet['summary.dwell']!.zones).toEqual([]);
    expect(quiet['summary.heatmap']).toMatchObject({ cells: [], totalSeconds: 0 });

    expect(s.db.prepare('SELECT kind, hour_start AS hourStart, revision FROM sync_summaries ORDER BY hour_start, kind').all()).toEqual(
      [H, H + HOUR, H + 2 * HOUR].flatMap((h) => ['dwell', 'footfall', 'heatmap'].map((kind) => ({ kind, hourStart: h, revision: 0 }))),
    );
    expect(all.every((r) => r.createdAt === H + 2 * HOUR + 5 * MIN || r.createdAt === now)).toBe(true);
  });

  it('writes nothing when called again with nothing changed', () => {
    const s = openStore();
    agentRun(s.db, H + MIN);
    seed(s);
    const writer = new SummaryWriter(s.db, s.config);
    const now = H + 3 * HOUR + DELAY;
    expect(writer.writeClosedHours(now).written).toBe(9);
    expect(writer.writeClosedHours(now).written).toBe(0);
    expect(writer.writeClosedHours(now + 20 * MIN).written).toBe(0);
    // A new writer (an agent restart) finds the digests in the database.
    expect(new SummaryWriter(s.db, s.config).writeClosedHours(now + 30 * MIN).written).toBe(0);
    expect(rows(s)).toHaveLength(9);
  });

  it('writes the next revision of only the kind whose hour changed', () => {
    const s = openStore();
    agentRun(s.db, H + MIN);
    seed(s);
    const writer = new SummaryWriter(s.db, s.config);
    const now = H + 3 * HOUR + DELAY;
    writer.writeClosedHours(now);
    const before = rows(s);

    s.repo.recordZoneVisit(zoneVisit('s9', 'promo', H + 40 * MIN, 8, { picks: 1 }));
    // Not in the hourly table yet: the summary reads what analytics rebuilt.
    expect(writer.writeClosedHours(now + MIN).written).toBe(0);
    s.summary.rebuild([H]);
    expect(writer.writeClosedHours(now + 2 * MIN)).toEqual({ written: 1 });

    const added = rows(s).slice(before.length);
    expect(added).toHaveLength(1);
    const [row] = added;
    validate(row!);
    expect(row!.topic).toBe('summary.dwell');
    expect(row!.idempotencyKey).toBe(`demo-001:dwell:${iso(H)}:r1`);
    expect(row!.payload).toMatchObject({ revision: 1, hourStart: iso(H) });
    expect(row!.payload.zones).toEqual([
      { zone: 'front-1', visits: 2, dwellSeconds: 40, medianSeconds: 20, maxSeconds: 30, withPick: 1, lingered: 1 },
      { zone: 'promo', visits: 2, dwellSeconds: 13, medianSeconds: 6.5, maxSeconds: 8, withPick: 1, lingered: 0 },
    ]);
    expect(s.db.prepare('SELECT kind, revision FROM sync_summaries WHERE hour_start = ? ORDER BY kind').all(H)).toEqual([
      { kind: 'dwell', revision: 1 },
      { kind: 'footfall', revision: 0 },
      { kind: 'heatmap', revision: 0 },
    ]);

    // A receipt closed late in hour 11 changes its footfall, again only that.
    receipt(s.db, H + HOUR + 30 * MIN, 250);
    expect(writer.writeClosedHours(now + 3 * MIN)).toEqual({ written: 1 });
    const [late] = rows(s).slice(before.length + 1);
    expect(late).toMatchObject({ topic: 'summary.footfall', idempotencyKey: `demo-001:footfall:${iso(H + HOUR)}:r1` });
    expect(late!.payload).toMatchObject({ revision: 1, receipts: 2, revenue: 750 });
    validate(late!);
  });

  it('skips the hours before the first agent run and beyond the lookback, and everything without a run', () => {
    const s = openStore();
    seed(s);
    s.repo.recordZoneVisit(zoneVisit('early', 'promo', H - 30 * MIN, 20));
    s.summary.rebuild([H - HOUR]);
    const writer = new SummaryWriter(s.db, s.config);
    expect(writer.writeClosedHours(H + 3 * HOUR + DELAY)).toEqual({ written: 0 });
    expect(rows(s)).toHaveLength(0);

    // The agent first ran at 10:15: hour 9, with its visit, was before it; hour 10 counts.
    agentRun(s.db, H + 15 * MIN);
    agentRun(s.db, H + 5 * HOUR);
    expect(writer.writeClosedHours(H + 2 * HOUR + DELAY)).toEqual({ written: 6 });
    expect(new Set(rows(s).map((r) => r.payload.hourStart))).toEqual(new Set([iso(H), iso(H + HOUR)]));

    // Six hours later with a three-hour lookback: only hours starting at or after now − 3 h.
    const short = new SummaryWriter(s.db, { ...s.config, mqtt: { ...s.config.mqtt, summaryLookbackHours: 3 } });
    expect(short.writeClosedHours(H + 8 * HOUR + DELAY)).toEqual({ written: 6 });
    expect(new Set(rows(s).slice(6).map((r) => r.payload.hourStart))).toEqual(new Set([iso(H + 6 * HOUR), iso(H + 7 * HOUR)]));
    expect(s.db.prepare('SELECT DISTINCT hour_start AS h FROM sync_summaries ORDER BY h').all()).toEqual([H, H + HOUR, H + 6 * HOUR, H + 7 * HOUR].map((h) => ({ h })));
  });

  it('gives every message its own idempotency key', () => {
    const s = openStore();
    agentRun(s.db, H - 5 * HOUR);
    seed(s);
    const writer = new SummaryWriter(s.db, s.config);
    let written = writer.writeClosedHours(H + 3 * HOUR + DELAY).written;
    for (let i = 1; i <= 3; i++) {
      s.repo.recordZoneVisit(zoneVisit(`late-${i}`, 'promo', H + i * MIN, i));
      s.repo.addHeat(H, s.config.analytics.heatmap.cellM, new Map([[i, 1]]));
      s.summary.rebuild([H]);
      written += writer.writeClosedHours(H + 3 * HOUR + DELAY + i * MIN).written;
    }
    const all = rows(s);
    // INSERT OR IGNORE would drop a repeated key silently: every message counted is a row.
    expect(all).toHaveLength(written);
    expect(written).toBe(8 * 3 + 3 * 2);
    const keys = all.map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of all) {
      validate(r);
      expect(r.idempotencyKey).toBe(`demo-001:${r.topic.slice('summary.'.length)}:${r.payload.hourStart}:r${r.payload.revision}`);
    }
    expect(all.filter((r) => r.payload.revision === 3).map((r) => r.topic).sort()).toEqual(['summary.dwell', 'summary.heatmap']);
  });

  it('writes exposures when the source knows them, with configured screens that showed nothing as zeros', () => {
    const s = openStore();
    agentRun(s.db, H + MIN);
    let trigger: Record<string, number> = { lingering: 2, pick: 1 };
    const exposures: ExposureSource = (from, to) => {
      expect(to - from).toBe(HOUR);
      if (from === H + HOUR) return undefined;
      return from === H ? [{ screen: 'screen-2', shown: 3, byTrigger: trigger, attributedPicks: 1 }] : [];
    };
    const writer = new SummaryWriter(s.db, s.config, exposures);
    expect(writer.writeClosedHours(H + 3 * HOUR + DELAY)).toEqual({ written: 3 * 3 + 2 });
    const all = rows(s).filter((r) => r.topic === 'summary.exposures');
    for (const r of all) validate(r);
    expect(all.map((r) => r.payload.hourStart)).toEqual([iso(H), iso(H + 2 * HOUR)]);
    expect(all[0]!.payload.screens).toEqual([
      { screen: 'screen-1', shown: 0, byTrigger: {}, attributedPicks: 0 },
      { screen: 'screen-2', shown: 3, byTrigger: { lingering: 2, pick: 1 }, attributedPicks: 1 },
      { screen: 'screen-3', shown: 0, byTrigger: {}, attributedPicks: 0 },
    ]);
    expect(all[1]!.payload.screens.map((x: { shown: number }) => x.shown)).toEqual([0, 0, 0]);

    trigger = { pick: 1, lingering: 2 }; // same counts, other key order: no change
    expect(writer.writeClosedHours(H + 3 * HOUR + DELAY + MIN).written).toBe(0);
    trigger = { pick: 1, lingering: 3 };
    expect(writer.writeClosedHours(H + 3 * HOUR + DELAY + 2 * MIN).written).toBe(1);
    expect(rows(s).at(-1)).toMatchObject({ topic: 'summary.exposures', idempotencyKey: `demo-001:exposures:${iso(H)}:r1` });
  });
});

describe('HourlySummaries component', () => {
  it('writes on start and on its timer, and counts failures in its health', async () => {
    const dir = tempDir();
    const database = new StoreDatabase(dir, silentLogger());
    await database.start();
    try {
      agentRun(database.handle, H + MIN);
      let now = H + HOUR + DELAY;
      const component = new HourlySummaries({ config: demoConfig(dir), database, log: silentLogger(), clock: () => now, checkMs: 20 });
      expect(component.name).toBe('summaries');
      expect(component.dependsOn).toEqual(['database']);
      await component.start();
      try {
        expect(component.health()).toEqual({ status: 'up', lastWrittenHour: iso(H), counters: { written: 3, failures: 0 } });
        now += HOUR;
        await expect.poll(() => component.health().counters, { timeout: 5_000 }).toEqual({ written: 6, failures: 0 });
        expect(component.health().lastWrittenHour).toBe(iso(H + HOUR));

        database.handle.exec('ALTER TABLE sync_summaries RENAME TO sync_summaries_gone');
        now += HOUR;
        await expect.poll(() => (component.health().counters as { failures: number }).failures, { timeout: 5_000 }).toBeGreaterThan(0);
        expect(component.health()).toMatchObject({ status: 'degraded', counters: { written: 6 } });
        expect(component.health().detail).toMatch(/sync_summaries/);

        database.handle.exec('ALTER TABLE sync_summaries_gone RENAME TO sync_summaries');
        await expect.poll(() => component.health().status, { timeout: 5_000 }).toBe('up');
        expect(component.health()).toMatchObject({ lastWrittenHour: iso(H + 2 * HOUR), counters: { written: 9 } });
      } finally {
        await component.stop();
      }
      const written = (database.handle.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
      now += 5 * HOUR;
      await new Promise((r) => setTimeout(r, 60));
      expect((database.handle.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n).toBe(written);
    } finally {
      await database.stop();
    }
  });
});
