/**
 * The review queue in a real Chromium on a tablet-sized screen: staff sign in through the form,
 * open /carts, correct a line the agent was not sure of (a pick between two shoppers equally near
 * the shelf, made by the agent's own checkout service), and see the receipt's new revision and
 * total on the page — in the queue's result and in the day's receipts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../device-config/schema.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { WeightEventRepository } from '../../edge-agent/src/db/repositories/weight-events.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ItemCandidate } from '../../edge-agent/src/shelf/weight-event.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { addUsers, PASSWORDS, signInPage } from '../support/admin.js';
import { artifactPath, chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/chromium.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const sure = (product: string, count = 1): ItemCandidate[] => [{ product, count, probability: 0.98, misplaced: false }];

/**
 * On the agent's bus, as its devices would say it: shoppers a and b stand equally near the cola
 * shelf when a can is picked (review), then leave; c picks two chocolate bars and stays.
 */
function shop(agent: Agent, config: StoreConfig, start: number): number {
  const layout = new StoreLayout(config);
  const gates = new GateEventRepository(agent.database.handle);
  const weights = new WeightEventRepository(agent.database.handle);
  let at = start;
  const standAt = (plate: string): [number, number] => [layout.plates.get(plate)!.standAt.x, layout.plates.get(plate)!.standAt.y];
  const gate = (g: { gate: string; kind: 'scan' | 'pass'; token?: string; direction?: 'in' | 'out' }) => agent.bus.emit('gate.event', gates.record({ ...g, at: (at += 200) }));
  const move = (paths: Record<string, [[number, number], [number, number]]>, seconds: number) => {
    const frames = Math.max(1, Math.round(seconds * 5));
    for (let f = 0; f < frames; f++) {
      at += 200;
      const u = frames === 1 ? 1 : f / (frames - 1);
      const tracks = Object.entries(paths).map(([id, [a, b]]) => ({ id, x: a[0] + (b[0] - a[0]) * u, y: a[1] + (b[1] - a[1]) * u, vx: 0, vy: 0, at, firstSeenAt: start, sources: [{ camera: 'cam', trackId: 1 }] }));
      agent.bus.emit('vision.shoppers', { at, tracks, ended: [] });
    }
  };
  const pick = (plate: string, candidates: ItemCandidate[]) => {
    const p = layout.plates.get(plate)!;
    agent.bus.emit('shelf.weight-event', weights.record({ shelf: `${p.gondola}.${p.shelf}`, plates: [plate], tStart: at - 1500, tEnd: at, deltaGrams: -330, perPlate: { [plate]: -330 }, noiseSigma: 1, kind: 'pick', candidates, flags: [] }));
  };
  const enter = (token: string, track: string) => {
    gate({ gate: 'gate-entry', kind: 'scan', token });
    gate({ gate: 'gate-entry', kind: 'pass', direction: 'in' });
    move({ [track]: [[1, 7], [1.2, 6.8]] }, 1);
  };
  const leave = (track: string, from: [number, number]) => {
    move({ [track]: [from, [11, 7]] }, 3);
    gate({ gate: 'gate-exit', kind: 'pass', direction: 'out' });
  };
  const [x, y] = standAt('1.2.1');
  enter('tok-alpha-1111', 'a');
  enter('tok-bravo-2222', 'b');
  move({ a: [[1.2, 6.8], [x - 0.2, y]], b: [[1.2, 6.8], [x + 0.2, y]] }, 4);
  move({ a: [[x - 0.2, y], [x - 0.2, y]], b: [[x + 0.2, y], [x + 0.2, y]] }, 2);
  pick('1.2.1', sure('cola-can-330'));
  leave('a', [x - 0.2, y]);
  leave('b', [x + 0.2, y]);
  const closedAt = at;
  const [cx, cy] = standAt('1.3.3');
  enter('tok-charlie-3333', 'c');
  move({ c: [[1.2, 6.8], [cx, cy]] }, 4);
  move({ c: [[cx, cy], [cx, cy]] }, 2);
  pick('1.3.3', sure('chocolate-dark-100', 2));
  return closedAt;
}

describe.skipIf(!chromiumAvailable())(`admin review queue in Chromium (${chromiumAvailable() ? 'Debian chromium' : CHROMIUM_MISSING})`, { timeout: 120_000 }, () => {
  let agent: Agent;
  let config: StoreConfig;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let closedAt: number;
  const problems: string[] = [];

  beforeAll(async () => {
    const base = demoConfig(tempDir());
    // Gates stay configured (their zones place shoppers); without a simulator their devices only retry.
    config = { ...base, cameras: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 } };
    agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    await addUsers(agent.database);
    closedAt = shop(agent, config, Date.now() - 60_000);
    browser = await launchChromium();
    // A tablet held upright, in the store's time zone.
    context = await browser.newContext({ viewport: { width: 834, height: 1112 }, hasTouch: true, locale: 'en-US', timezoneId: config.store.timezone });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await agent?.stop('test');
  });

  it('staff correct a review-queue line and see the receipt adjusted', async () => {
    const cola = config.planogram.products.find((p) => p.id === 'cola-can-330')!;
    const euros = (minor: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: config.store.currency }).format(minor / 100);

    await signInPage(page, agent.adminUrl!, 'staff', PASSWORDS.staff);
    // Only this page's messages count: other pages are not under test here.
    problems.length = 0;
    await page.goto(`${agent.adminUrl}/carts`);
    const item = page.locator('.review-item').first();
    await item.waitFor();
    expect(await item.locator('h3').textContent()).toContain(`1 × ${cola.name}`);
    expect(await item.locator('.receipt-ref').textContent()).toMatch(/revision 0 · .* · pending-review/);
    // The evidence: the grams on the shelf and both shoppers standing near it.
    await item.locator('summary').click();
    const evidence = (await item.locator('ul.evidence').textContent()) ?? '';
    expect(evidence).toContain('-330 g on shelf 1.2');
    expect(evidence).toMatch(/near the shelf: [ab] 0\.\d+ m \(\d+ %\), [ab] 0\.\d+ m/);

    // The open cart of the third shopper, with its evidence row opened.
    const cart = page.locator('.cart').first();
    await cart.waitFor();
    expect(await cart.locator('h3').textContent()).toContain('token …3333');
    await cart.getByRole('button', { name: 'Evidence' }).click();
    expect(await cart.locator('tr.detail').first().textContent()).toMatch(/\+2 × Dark chocolate 100 g.*shopper c at \d\.\d\d m/);

    // The day the receipts closed, picked with the day field.
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: config.store.timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(closedAt);
    await page.fill('#day', day);
    await page.click('#receipts-day button[type="submit"]');
    await page.locator('#receipts-table tbody tr[data-receipt]').nth(1).waitFor();
    const receiptId = Number(/Receipt #(\d+)/.exec((await item.locator('.receipt-ref').textContent()) ?? '')?.[1]);
    const row = page.locator(`#receipts-table tr[data-receipt="${receiptId}"]`);
    expect(await row.locator('.revision').textContent()).toBe('0');
    expect(await row.textContent()).toContain('1 to review');
    await page.screenshot({ path: artifactPath('admin/carts-review-before.png'), fullPage: true });

    // Correct: it was two cans, not one.
    await item.getByRole('button', { name: 'Correct' }).click();
    const form = item.locator('form.correct');
    await form.waitFor();
    expect(await item.locator('[data-action="accept"]').isVisible()).toBe(false);
    expect(await form.locator('select').inputValue()).toBe('cola-can-330');
    await form.locator('input[type="number"]').fill('2');
    await item.screenshot({ path: artifactPath('admin/carts-review-correct.png') });
    await form.getByRole('button', { name: 'Save correction' }).click();

    const adjusted = page.locator('#adjusted-receipt');
    await adjusted.waitFor();
    expect(await adjusted.getAttribute('data-revision')).toBe('1');
    expect(await adjusted.locator('h3').textContent()).toBe(`Receipt #${receiptId} adjusted: revision 1, total ${euros(2 * cola.price)} (was ${euros(0)})`);
    expect(await adjusted.locator('tbody').textContent()).toContain(cola.name);
    await page.getByText('Nothing waits for a decision.').waitFor();
    // The day's receipts show the new revision and total too.
    await row.locator('td.revision', { hasText: '1' }).waitFor();
    expect(await row.locator('.total').textContent()).toBe(euros(2 * cola.price));
    expect(await row.textContent()).toContain('reviewed');
    expect(await page.locator('#review-count').textContent()).toBe('0');
    await page.screenshot({ path: artifactPath('admin/carts-review.png'), fullPage: true });

    // Touch targets stay big enough for a finger.
    for (const b of await page.locator('main button').all()) {
      const box = await b.boundingBox();
      if (box) expect(box.height, (await b.textContent()) ?? '').toBeGreaterThanOrEqual(44);
    }
    expect(problems).toEqual([]);
  });
});
