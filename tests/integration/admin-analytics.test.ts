/**
 * The analytics page's API on a running agent (real SQLite, real HTTP): analytics facts of one
 * store day are stored with the repositories the agent writes them with, the hourly tables are
 * rebuilt, and the summary, the heatmap PNG and the page are read back as a viewer; anonymous
 * callers are refused, bad ranges answered 400 with a reason.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreVisit, ZoneVisit } from '../../edge-agent/src/analytics/floor-analytics.js';
import { FloorGrid } from '../../edge-agent/src/analytics/floor-grid.js';
import { HourlySummary } from '../../edge-agent/src/analytics/hourly-summary.js';
import { HOUR } from '../../edge-agent/src/analytics/local-hours.js';
import { Agent } from '../../edge-agent/src/agent.js';
import type { AnalyticsSummary } from '../../edge-agent/src/admin/pages/analytics-api.js';
import { AnalyticsRepository } from '../../edge-agent/src/db/repositories/analytics.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { ReceiptRepository } from '../../edge-agent/src/db/repositories/receipts.js';
import { ScreenExposureRepository, type ScreenTrigger } from '../../edge-agent/src/db/repositories/screen-exposures.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signIn, type Signed } from '../support/admin.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const MIN = 60_000;
/** 10:00 UTC: 11:00 on the demo store's wall clock (Europe/Berlin, winter time). */
const H = Date.UTC(2026, 2, 2, 10);
/** The store's day of 2 March 2026, local midnight to midnight. */
const DAY = { from: '2026-03-01T23:00:00.000Z', to: '2026-03-02T23:00:00.000Z' };
const range = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

function zoneVisit(shopper: string, zone: string, enteredAt: number, dwellSeconds: number, extra: Partial<ZoneVisit> = {}): ZoneVisit {
  return { shopper, zone, enteredAt, exitedAt: enteredAt + dwellSeconds * 1000, dwellSeconds, picks: 0, lingered: false, ...extra };
}

function storeVisit(shopper: string, fromMin: number, toMin: number, picks = 0): StoreVisit {
  return { shopper, enteredAt: H + fromMin * MIN, exitedAt: H + toMin * MIN, picks, entryZone: 'entry', exitZone: 'exit' };
}

/**
 * Local 11:00: four store visits (two with picks), three gate entries and one exit, two receipts;
 * zone visits in front-1 (10, 30, 50 s) and promo (5, 7, 9 s), a clerk's visit left out as staff.
 * Local 12:00: one visit started, one receipt. The day before and after: facts that must not count.
 * Shelf screens: screen-1 with triggered and idle cards, screen-2 with triggered cards only.
 */
function seed(agent: Agent, cellM: number, grid: FloorGrid): void {
  const db = agent.database.handle;
  const repo = new AnalyticsRepository(db);
  repo.recordZoneVisit(zoneVisit('s1', 'front-1', H + 5 * MIN, 10, { picks: 1 }));
  repo.recordZoneVisit(zoneVisit('s2', 'front-1', H + 10 * MIN, 30, { lingered: true }));
  repo.recordZoneVisit(zoneVisit('s3', 'front-1', H + 51 * MIN, 50, { picks: 2, lingered: true }));
  repo.recordZoneVisit(zoneVisit('s1', 'promo', H + 6 * MIN, 5));
  repo.recordZoneVisit(zoneVisit('s5', 'promo', H + 21 * MIN, 7));
  repo.recordZoneVisit(zoneVisit('s2', 'promo', H + 11 * MIN, 9));
  repo.recordZoneVisit(zoneVisit('s8', 'front-2', H + 65 * MIN, 12.5));
  repo.recordZoneVisit(zoneVisit('clerk', 'front-1', H + 30 * MIN, 600));
  repo.recordZoneVisit(zoneVisit('early', 'front-1', H - 24 * HOUR, 99)); // the day before

  repo.recordStoreVisit(storeVisit('s1', 5, 15, 1));
  repo.recordStoreVisit(storeVisit('s2', 10, 12));
  repo.recordStoreVisit(storeVisit('s5', 20, 24));
  repo.recordStoreVisit(storeVisit('s3', 50, 70, 2)); // into local 12:00
  repo.recordStoreVisit(storeVisit('s8', 65, 67));
  repo.recordStoreVisit(storeVisit('clerk', 28, 45));
  repo.exclude('clerk', 'staff');

  const gates = new GateEventRepository(db);
  for (const [min, direction] of [[4, 'in'], [9, 'in'], [21, 'in'], [20, 'out'], [62, 'out']] as const) {
    gates.record({ gate: 'gate-entry', kind: 'pass', direction, at: H + min * MIN });
  }
  gates.record({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: H - 24 * HOUR });

  const receipts = new ReceiptRepository(db);
  [
    [H + 15 * MIN, 1250],
    [H + 59 * MIN, 399],
    [H + HOUR, 500], // the boundary belongs to the next hour
    [H + 24 * HOUR, 700], // the next day
  ].forEach(([closedAt, total], i) => receipts.create({ sessionId: 9000 + i, token: `t-${i}`, currency: 'EUR', total: total!, confidence: 0.9, status: 'final', closedAt: closedAt!, createdAt: closedAt! }, []));

  // Heat where front-1 is, and a little at the promotion table.
  repo.addHeat(H, cellM, new Map([[grid.cellAt(4.5, 3.1), 40], [grid.cellAt(4.75, 3.1), 20], [grid.cellAt(8.5, 5.5), 6]]));
  repo.addHeat(H + HOUR, cellM, new Map([[grid.cellAt(4.5, 3.1), 10]]));

  const screens = new ScreenExposureRepository(db);
  const show = (screen: string, trigger: ScreenTrigger, at: number, picks: number, products = ['P-001']) => {
    const id = screens.record({ screen, trigger, rule: null, shopper: null, zone: null, products, title: 'Card', shownAt: at, untilAt: at + 30_000 });
    for (let i = 0; i < picks; i++) screens.attribute(id, screen, products[0]!, `shopper-${id}-${i}`, at + 10_000);
  };
  show('screen-1', 'lingering', H + 5 * MIN, 1);
  show('screen-1', 'lingering', H + 7 * MIN, 0);
  show('screen-1', 'pick', H + 8 * MIN, 1);
  for (let i = 0; i < 4; i++) show('screen-1', 'idle', H + (20 + i) * MIN, i === 0 ? 1 : 0);
  show('screen-1', 'idle', H + 30 * MIN, 0, []); // no products: shown, but no evidence for uplift
  show('screen-2', 'hesitation', H + 12 * MIN, 1);
  show('screen-1', 'lingering', H + 24 * HOUR, 1); // the next day

  new HourlySummary(db, repo).rebuild([H - 24 * HOUR, H, H + HOUR, H + 24 * HOUR]);
}

describe('analytics page API', { timeout: 60_000 }, () => {
  let agent: Agent;
  let url: string;
  let viewer: Signed;
  const cellM = 0.25;

  beforeAll(async () => {
    const config = devicelessConfig(tempDir());
    expect(config.analytics.heatmap.cellM).toBe(cellM);
    agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    await addUsers(agent.database);
    url = agent.adminUrl!;
    seed(agent, cellM, new FloorGrid(config.store.floor.widthM, config.store.floor.depthM, cellM));
    viewer = await signIn(url, 'viewer', PASSWORDS.viewer);
  });
  afterAll(async () => {
    await agent?.stop('test');
  });

  it('sums a store day: footfall and conversion per hour, dwell per zone, shelf screens', async () => {
    const res = await viewer.fetch(`/api/analytics/summary?${range(DAY.from, DAY.to)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const s = (await res.json()) as AnalyticsSummary;
    expect(s).toMatchObject({ from: DAY.from, to: DAY.to, timezone: 'Europe/Berlin' });

    expect(s.hours).toHaveLength(24);
    expect(s.hours[0]!.hour).toBe('2026-03-02 00:00');
    expect(s.hours[23]!.hour).toBe('2026-03-02 23:00');
    expect(s.hours[11]).toEqual({ hourStart: H, hour: '2026-03-02 11:00', gateEntries: 3, gateExits: 1, visitsStarted: 4, visitsWithPick: 2, peakOccupancy: 2, receipts: 2, revenue: 1649, conversion: 0.5 });
    expect(s.hours[12]).toEqual({ hourStart: H + HOUR, hour: '2026-03-02 12:00', gateEntries: 0, gateExits: 1, visitsStarted: 1, visitsWithPick: 0, peakOccupancy: 2, receipts: 1, revenue: 500, conversion: 1 });
    expect(s.hours.filter((h, i) => i !== 11 && i !== 12).every((h) => h.gateEntries + h.visitsStarted + h.receipts === 0 && h.conversion === null)).toBe(true);

    // No gates configured in this agent: entries are the visits seen starting.
    expect(s.footfall).toMatchObject({ entries: 5, countedBy: 'tracks', visits: 5, visitsWithPick: 2, pickRate: 0.4, peakOccupancy: 2 });
    expect(s.conversion).toEqual({ receipts: 3, revenue: 2149, currency: 'EUR', visits: 5, rate: 0.6 });

    const zone = (id: string) => s.zones.find((z) => z.zone === id);
    expect(s.zones.map((z) => z.zone)).toEqual(['entry', 'exit', 'front-1', 'front-2', 'aisle-main', 'promo']);
    expect(zone('front-1')).toEqual({ zone: 'front-1', name: 'In front of gondola 1', type: 'shelf-front', visits: 3, dwellSeconds: 90, meanDwellSeconds: 30, medianDwellSeconds: 30, maxDwellSeconds: 50, withPick: 2, lingered: 2 });
    expect(zone('promo')).toMatchObject({ visits: 3, meanDwellSeconds: 7, medianDwellSeconds: 7, maxDwellSeconds: 9, withPick: 0 });
    expect(zone('front-2')).toMatchObject({ visits: 1, meanDwellSeconds: 12.5, medianDwellSeconds: 12.5 });
    expect(zone('aisle-main')).toMatchObject({ visits: 0, meanDwellSeconds: null, medianDwellSeconds: null });

    expect(s.heatmap).toMatchObject({ cellM, occupiedCells: 3, occupancySeconds: 76 });
    expect(s.screens).toEqual([
      {
        screen: 'screen-1',
        name: 'Drinks and snacks',
        shown: 8,
        byTrigger: { idle: 5, lingering: 2, pick: 1 },
        attributedPicks: 3,
        triggered: { exposures: 3, attributed: 2, perExposure: 0.667 },
        idle: { exposures: 4, attributed: 1, perExposure: 0.25 },
        uplift: 2.667,
      },
      expect.objectContaining({ screen: 'screen-2', shown: 1, byTrigger: { hesitation: 1 }, attributedPicks: 1, triggered: { exposures: 1, attributed: 1, perExposure: 1 }, idle: { exposures: 0, attributed: 0, perExposure: 0 }, uplift: null }),
      expect.objectContaining({ screen: 'screen-3', shown: 0, attributedPicks: 0, uplift: null }),
    ]);
    expect(s.floor.widthM).toBe(12);
    expect(s.floor.zones.find((z) => z.id === 'front-1')!.polygon).toEqual([[3, 2.6], [6, 2.6], [6, 3.6], [3, 3.6]]);
    expect(s.floor.gondolas.length).toBeGreaterThan(0);
  });

  it('sums a single store hour, and widens a range to the whole hours it touches', async () => {
    const hour = (await (await viewer.fetch(`/api/analytics/summary?${range('2026-03-02T11:00:00+01:00', '2026-03-02T12:00:00+01:00')}`)).json()) as AnalyticsSummary;
    expect(hour.hours.map((h) => h.hour)).toEqual(['2026-03-02 11:00']);
    expect(hour.conversion).toEqual({ receipts: 2, revenue: 1649, currency: 'EUR', visits: 4, rate: 0.5 });
    expect(hour.zones.find((z) => z.zone === 'front-2')).toMatchObject({ visits: 0 });
    expect(hour.screens[0]).toMatchObject({ screen: 'screen-1', shown: 8, uplift: 2.667 });

    const touched = (await (await viewer.fetch(`/api/analytics/summary?${range('2026-03-02T11:30:00+01:00', '2026-03-02T12:10:00+01:00')}`)).json()) as AnalyticsSummary;
    expect(touched).toMatchObject({ from: new Date(H).toISOString(), to: new Date(H + 2 * HOUR).toISOString() });
    expect(touched.conversion.receipts).toBe(3);
  });

  it('draws the heatmap of the range as a PNG of the floor, hot where shoppers stood', async () => {
    const res = await viewer.fetch(`/api/analytics/heatmap.png?${range(DAY.from, DAY.to)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const meta = await sharp(png).metadata();
    // 12 m × 8 m at the renderer's 40 px per metre.
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 480, 320]);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const pixel = (xM: number, yM: number) => [...data.subarray((Math.floor(yM * 40) * info.width + Math.floor(xM * 40)) * info.channels, (Math.floor(yM * 40) * info.width + Math.floor(xM * 40)) * info.channels + 3)];
    expect(pixel(1, 7)).toEqual([230, 230, 230]); // nobody stood there: the plain floor
    expect(pixel(4.6, 3.2)).not.toEqual([230, 230, 230]);

    // A day without any heat: the bare floor of the same size.
    const empty = await viewer.fetch(`/api/analytics/heatmap.png?${range('2026-01-10T00:00:00+01:00', '2026-01-11T00:00:00+01:00')}`);
    const stats = await sharp(Buffer.from(await empty.arrayBuffer())).stats();
    expect(stats.channels.slice(0, 3).map((c) => [c.min, c.max])).toEqual([[230, 230], [230, 230], [230, 230]]);
  });

  it('serves the page to a viewer with the chart library before its script', async () => {
    const res = await viewer.fetch('/analytics', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.indexOf('/assets/vendor/chart.umd.js')).toBeGreaterThan(0);
    expect(html.indexOf('/assets/vendor/chart.umd.js')).toBeLessThan(html.indexOf('/assets/analytics.js'));
    expect(html).toContain('data-timezone="Europe/Berlin"');
    expect(html).not.toMatch(/<script>|style="/);
    for (const asset of ['/assets/analytics.js', '/assets/analytics.css', '/assets/vendor/chart.umd.js']) expect((await fetch(`${url}${asset}`)).status).toBe(200);
  });

  it('refuses anonymous callers', async () => {
    for (const path of [`/api/analytics/summary?${range(DAY.from, DAY.to)}`, `/api/analytics/heatmap.png?${range(DAY.from, DAY.to)}`]) {
      const res = await fetch(`${url}${path}`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('2149');
    }
    const page = await fetch(`${url}/analytics`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Fanalytics');
  });

  it('answers bad ranges with 400 and a reason', async () => {
    const cases: [string, RegExp][] = [
      ['', /from is required: an ISO date-time/],
      [`from=${encodeURIComponent(DAY.from)}`, /to is required/],
      [range('yesterday', DAY.to), /from must be an ISO date-time with a time zone/],
      [range('2026-03-02T00:00:00', DAY.to), /from must be an ISO date-time with a time zone/],
      [range(DAY.from, '2026-03-02 23:00:00Z'), /to must be an ISO date-time/],
      [range('2026-13-45T00:00:00Z', DAY.to), /from is not a valid date-time/],
      [range(DAY.to, DAY.from), /from must be before to/],
      [range(DAY.from, DAY.from), /from must be before to/],
      [range('2026-01-01T00:00:00Z', '2026-02-01T00:00:01Z'), /longer than 31 days/],
      [range('2026-03-02T00:00:00Z', `2026-03-02T00:00:00Z${'0'.repeat(50)}`), /to must be an ISO date-time/],
    ];
    for (const [query, reason] of cases) {
      for (const path of ['/api/analytics/summary', '/api/analytics/heatmap.png']) {
        const res = await viewer.fetch(`${path}?${query}`);
        expect(res.status, `${path}?${query}`).toBe(400);
        const text = await res.text();
        expect(JSON.parse(text).error, `${path}?${query}`).toMatch(reason);
        expect(text).not.toMatch(/\bat \S+:\d+/);
      }
    }
    // Exactly 31 days is allowed.
    expect((await viewer.fetch(`/api/analytics/summary?${range('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')}`)).status).toBe(200);
  });
});
