/**
 * The analytics page in Chromium on a running agent: a viewer opens one seeded store day and sees
 * the charts drawn, the heatmap loaded and the seeded numbers in the tables; picking one hour
 * narrows everything to it. No console errors, no page errors (the page's CSP allows no inline code).
 */
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreVisit, ZoneVisit } from '../../edge-agent/src/analytics/floor-analytics.js';
import { FloorGrid } from '../../edge-agent/src/analytics/floor-grid.js';
import { HourlySummary } from '../../edge-agent/src/analytics/hourly-summary.js';
import { HOUR } from '../../edge-agent/src/analytics/local-hours.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { AnalyticsRepository } from '../../edge-agent/src/db/repositories/analytics.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { ReceiptRepository } from '../../edge-agent/src/db/repositories/receipts.js';
import { ScreenExposureRepository, type ScreenTrigger } from '../../edge-agent/src/db/repositories/screen-exposures.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signInPage } from '../support/admin.js';
import { artifactPath, chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/chromium.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const MIN = 60_000;
/** 10:00 UTC: 11:00 on the demo store's wall clock (Europe/Berlin, winter time). */
const H = Date.UTC(2026, 2, 2, 10);

function zoneVisit(shopper: string, zone: string, atMin: number, dwellSeconds: number, picks = 0): ZoneVisit {
  const enteredAt = H + atMin * MIN;
  return { shopper, zone, enteredAt, exitedAt: enteredAt + dwellSeconds * 1000, dwellSeconds, picks, lingered: dwellSeconds >= 30 };
}

function storeVisit(shopper: string, fromMin: number, toMin: number, picks = 0): StoreVisit {
  return { shopper, enteredAt: H + fromMin * MIN, exitedAt: H + toMin * MIN, picks, entryZone: 'entry', exitZone: 'exit' };
}

/**
 * Local 11:00: four visits, three gate entries, two receipts; 12:00: one visit, one receipt.
 * front-1 dwell 10/30/50 s, promo 5/7/9 s, front-2 12.5 s; heat along gondola 1 and the promotion
 * table; screen-1 with triggered (2 of 3 cards led to a pick) and idle cards (1 of 4).
 */
function seed(agent: Agent): void {
  const db = agent.database.handle;
  const { config } = agent.adminContext;
  const repo = new AnalyticsRepository(db);
  for (const v of [
    zoneVisit('s1', 'front-1', 5, 10, 1),
    zoneVisit('s2', 'front-1', 10, 30),
    zoneVisit('s3', 'front-1', 51, 50, 2),
    zoneVisit('s1', 'promo', 6, 5),
    zoneVisit('s5', 'promo', 21, 7),
    zoneVisit('s2', 'promo', 11, 9),
    zoneVisit('s8', 'front-2', 65, 12.5),
  ]) {
    repo.recordZoneVisit(v);
  }
  for (const v of [storeVisit('s1', 5, 15, 1), storeVisit('s2', 10, 12), storeVisit('s5', 20, 24), storeVisit('s3', 50, 70, 2), storeVisit('s8', 65, 67)]) repo.recordStoreVisit(v);

  const gates = new GateEventRepository(db);
  for (const [min, direction] of [[4, 'in'], [9, 'in'], [21, 'in'], [20, 'out'], [62, 'out']] as const) gates.record({ gate: 'gate-entry', kind: 'pass', direction, at: H + min * MIN });

  const receipts = new ReceiptRepository(db);
  [[15, 1250], [59, 399], [60, 500]].forEach(([min, total], i) =>
    receipts.create({ sessionId: 100 + i, token: `t-${i}`, currency: 'EUR', total: total!, confidence: 0.9, status: 'final', closedAt: H + min! * MIN, createdAt: H + min! * MIN }, []),
  );

  const { cellM } = config.analytics.heatmap;
  const grid = new FloorGrid(config.store.floor.widthM, config.store.floor.depthM, cellM);
  const heat = new Map<number, number>();
  for (let x = 3.1; x < 6; x += cellM) heat.set(grid.cellAt(x, 3.1), 10 + 30 * Math.sin(((x - 3) / 3) * Math.PI));
  for (let x = 8; x < 9.5; x += cellM) for (let y = 5; y < 6; y += cellM) heat.set(grid.cellAt(x, y), 8);
  for (let y = 1; y < 7; y += cellM) heat.set(grid.cellAt(7, y), 4);
  repo.addHeat(H, cellM, heat);

  const screens = new ScreenExposureRepository(db);
  const show = (screen: string, trigger: ScreenTrigger, min: number, picks: number) => {
    const id = screens.record({ screen, trigger, rule: null, shopper: null, zone: null, products: ['P-001'], title: 'Card', shownAt: H + min * MIN, untilAt: null });
    for (let i = 0; i < picks; i++) screens.attribute(id, screen, 'P-001', `shopper-${id}-${i}`, H + min * MIN + 5_000);
  };
  show('screen-1', 'lingering', 5, 1);
  show('screen-1', 'lingering', 7, 0);
  show('screen-1', 'pick', 8, 1);
  for (let i = 0; i < 4; i++) show('screen-1', 'idle', 20 + i, i === 0 ? 1 : 0);
  show('screen-2', 'hesitation', 12, 1);

  new HourlySummary(db, repo).rebuild([H, H + HOUR]);
}

// The tests compile without the DOM library: the few browser names the checks in the page use.
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
  clientWidth: number;
  getAttribute(name: string): string | null;
}
interface Canvas {
  width: number;
  height: number;
  clientWidth: number;
  clientHeight: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: {
  getElementById(id: string): unknown;
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): { textContent: string | null } | null;
};
declare const window: { Chart: { getChart(canvas: Canvas): { config: { type: string }; data: { labels: unknown[] } } | undefined } };

/** Polls a check in the page; `page.waitForFunction` would eval a string, which the page's CSP forbids. */
async function pageUntil(page: Page, what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(check))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rowsOf = (page: Page, table: string) => page.$$eval(`${table} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent?.trim() ?? '')));

describe.skipIf(!chromiumAvailable())(`analytics page in Chromium (${CHROMIUM_MISSING})`, { timeout: 90_000 }, () => {
  let agent: Agent;
  let browser: Browser;

  beforeAll(async () => {
    const config = devicelessConfig(tempDir());
    agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    await addUsers(agent.database);
    seed(agent);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop('test');
  });

  it('shows a viewer the seeded day: charts, heatmap, dwell, footfall, conversion and screen uplift', async () => {
    // A tablet in landscape.
    const page = await browser.newPage({ viewport: { width: 1180, height: 820 }, deviceScaleFactor: 1 });
    const problems: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const url = agent.adminUrl!;
    await signInPage(page, url, 'viewer', PASSWORDS.viewer);
    // What the live page (another page's script) logs is not this page's concern.
    problems.length = 0;

    await page.goto(`${url}/analytics?day=2026-03-02`);
    await pageUntil(page, 'the tables and the heatmap', () => {
      const img = document.getElementById('heatmap') as Img;
      return document.querySelectorAll('#zones-table tbody tr').length > 0 && img.complete && img.naturalWidth > 0 && document.querySelectorAll('.screen-card').length > 0;
    });

    expect(await page.inputValue('#day')).toBe('2026-03-02');
    expect(await page.inputValue('#hour')).toBe('');
    expect(await page.textContent('#analytics-error')).toBe('');

    const charts = await page.evaluate(() =>
      ['dwell-chart', 'footfall-chart', 'conversion-chart'].map((id) => {
        const canvas = document.getElementById(id) as Canvas;
        const chart = window.Chart.getChart(canvas);
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted += 1;
        return { id, type: chart?.config.type, labels: chart?.data.labels.length, width: canvas.clientWidth, height: canvas.clientHeight, painted };
      }),
    );
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(200);
      expect(c.height, c.id).toBeGreaterThan(100);
      expect(c.painted, c.id).toBeGreaterThan(1000);
    }
    expect(charts.map((c) => [c.id, c.type, c.labels])).toEqual([
      ['dwell-chart', 'bar', 6],
      ['footfall-chart', 'bar', 24],
      ['conversion-chart', 'line', 24],
    ]);

    const img = await page.$eval('#heatmap', (i) => {
      const image = i as Img;
      return { natural: [image.naturalWidth, image.naturalHeight], shown: image.clientWidth, src: image.getAttribute('src') };
    });
    expect(img.natural).toEqual([480, 320]);
    expect(img.shown).toBeGreaterThan(300);
    expect(img.src).toBe(`/api/analytics/heatmap.png?from=${encodeURIComponent('2026-03-01T23:00:00.000Z')}&to=${encodeURIComponent('2026-03-02T23:00:00.000Z')}`);
    expect(await page.$$eval('#heatmap-floor polygon', (p) => p.length)).toBeGreaterThan(5);

    const zones = await rowsOf(page, '#zones-table');
    expect(zones).toContainEqual(['In front of gondola 1', '3', '30.0', '30.0', '50.0', '2']);
    expect(zones).toContainEqual(['Promotion table', '3', '7.0', '7.0', '9.0', '0']);
    expect(zones).toContainEqual(['In front of gondola 2', '1', '12.5', '12.5', '12.5', '0']);
    expect(await rowsOf(page, '#hours-table')).toEqual([
      ['11:00', '3', '1', '4', '2', '50 %', '2'],
      ['12:00', '0', '1', '1', '1', '100 %', '2'],
    ]);
    const kpis = await page.$$eval('.kpi-card', (cards) => cards.map((c) => [c.children[0]!.textContent, c.children[1]!.textContent]));
    expect(kpis).toEqual(expect.arrayContaining([['Visits', '5'], ['Receipts', '3'], ['Conversion', '60 %'], ['Peak on floor', '2']]));
    const screen1 = await page.$eval('.screen-card[data-screen="screen-1"]', (card) => ({
      shown: card.querySelector('.shown')!.textContent,
      picks: card.querySelector('.picks')!.textContent,
      triggers: [...card.querySelectorAll('.triggers .badge')].map((b) => b.textContent),
      uplift: card.querySelector('.uplift .kpi')!.textContent,
    }));
    expect(screen1).toEqual({ shown: '7', picks: '3', triggers: ['idle 4', 'lingering 2', 'pick 1'], uplift: '×2.67' });
    expect(await page.$eval('.screen-card[data-screen="screen-2"] .uplift', (u) => u.textContent)).toContain('no idle cards');

    // Touch targets of the range picker are at least 44 px high.
    for (const sel of ['#prev-day', '#day', '#next-day', '#hour', '#today']) {
      expect((await page.locator(sel).boundingBox())!.height, sel).toBeGreaterThanOrEqual(44);
    }

    const hot = await rowsOf(page, '#hotspots-table');
    expect(hot).toHaveLength(5);
    expect(hot[0]![0]).toBe('In front of gondola 1');

    await page.screenshot({ path: artifactPath('admin/analytics.png'), fullPage: true });
    await page.setViewportSize({ width: 820, height: 1180 });
    await pageUntil(page, 'the charts in one column', () => (document.getElementById('footfall-chart') as Canvas).clientWidth > 600);
    await page.screenshot({ path: artifactPath('admin/analytics-portrait.png'), fullPage: true });

    // One hour: everything narrows to it, and the address remembers it.
    await page.selectOption('#hour', '12');
    await pageUntil(page, 'the 12:00 hour', () => document.querySelectorAll('#hours-table tbody tr').length === 1 && document.querySelector('#hours-table tbody th')?.textContent === '12:00');
    expect(new URL(page.url()).search).toBe('?day=2026-03-02&hour=12');
    expect(await rowsOf(page, '#hours-table')).toEqual([['12:00', '0', '1', '1', '1', '100 %', '2']]);
    expect(await page.$eval('#heatmap', (i) => i.getAttribute('src'))).toContain(encodeURIComponent('2026-03-02T11:00:00.000Z'));
    await pageUntil(page, 'the hour heatmap', () => (document.getElementById('heatmap') as Img).complete);
    expect((await rowsOf(page, '#zones-table')).find((r) => r[0] === 'In front of gondola 1')).toEqual(['In front of gondola 1', '0', '–', '–', '–', '0']);
    await page.screenshot({ path: artifactPath('admin/analytics-hour.png'), fullPage: true });

    // The day before has nothing: empty tables say so, no errors.
    await page.selectOption('#hour', '');
    await page.click('#prev-day');
    await pageUntil(page, 'the empty day', () => document.querySelector('#hours-table tbody td')?.textContent === 'No activity in this range.');
    expect(await page.inputValue('#day')).toBe('2026-03-01');

    expect(problems).toEqual([]);
    await page.close();
  });
});
