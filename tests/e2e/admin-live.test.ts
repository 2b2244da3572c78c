/**
 * The live store page in real Chromium while the simulator plays a small store: a viewer signs in
 * through the login form, opens /live, and a simulated shopper shows up on the floor plan within
 * a few seconds of vision first reporting them (the simulator's true floor positions standing in
 * for the cameras), with the occupancy counting them and their session's token next to the dot.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { silentLogger } from '../../edge-agent/src/log.js';
import { replay } from '../../edge-agent/src/recording/replay-session.js';
import { recordSimulation } from '../../edge-agent/src/sim/record-simulation.js';
import { resolveScenario } from '../../edge-agent/src/sim/scenario.js';
import { addUsers, PASSWORDS, signInPage } from '../support/admin.js';
import { artifactPath, CHROMIUM_MISSING, chromiumAvailable, launchChromium } from '../support/chromium.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
let browser: Browser | undefined;
beforeAll(async () => {
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!chromiumAvailable())(`live store page with the simulator (${chromiumAvailable() ? 'Debian chromium' : CHROMIUM_MISSING})`, { timeout: 180_000 }, () => {
  it('shows a simulated shopper on the floor plan within seconds, with the occupancy and their session', async () => {
    const config = demoConfig(join(tempDir(), 'data'));
    const dir = join(tempDir(), 'recording');
    const scenario = resolveScenario({ seed: 5, minutes: 1.5, shoppers: 2, knobs: { itemsMin: 1, itemsMax: 2, lingerSeconds: [4, 8] } });
    await recordSimulation({ config, scenario, out: dir, video: false, createdBy: 'admin-live test' });

    const errors: string[] = [];
    // Wall time of each track's first report by vision, and of its end.
    const firstReported = new Map<string, number>();
    const endedAt = new Map<string, number>();
    let page!: Page;
    let pageReadyAt = 0;
    let ready!: () => void;
    let failed!: (err: unknown) => void;
    const pageReady = new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject)));
    const done = replay({
      dir,
      speed: 3,
      port: 0,
      dataDir: join(tempDir(), 'replay-data'),
      log: silentLogger(),
      version: 'test',
      onAgent: (a) => {
        a.bus.on('vision.shoppers', 'test', (u) => {
          for (const t of u.tracks) if (!firstReported.has(t.id)) firstReported.set(t.id, Date.now());
          for (const id of u.ended) endedAt.set(id, Date.now());
        });
        a.bus.on('agent.started', 'test', () => {
          void (async () => {
            await addUsers(a.database);
            page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
            page.on('pageerror', (e) => errors.push(e.message));
            page.on('console', (m) => {
              if (m.type() === 'error') errors.push(m.text());
            });
            await signInPage(page, a.adminUrl!, 'viewer', PASSWORDS.viewer);
            await page.waitForSelector('svg.floor polygon.gondola-body', { timeout: 10_000 });
            await page.waitForSelector('#page[data-connected="true"]', { timeout: 10_000 });
            pageReadyAt = Date.now();
            ready();
          })().catch(failed);
        });
      },
      truthFloor: { seed: 5, noiseM: 0.05, missRate: 0.02 },
    });
    await pageReady;
    // The floor plan: the demo store's zones and both gondolas with their plates.
    expect(await page.locator('svg.floor polygon.zone').count()).toBe(config.zones.length);
    expect(await page.locator('svg.floor polygon.gondola-body').count()).toBe(config.gondolas.length);
    expect(await page.locator('svg.floor polygon.plate').count()).toBeGreaterThan(10);

    // The first shopper came in while the page was loading; the next one (about 14 s later) walks
    // in while the page is live: their dot must follow vision's first report within seconds.
    const deadline = Date.now() + 60_000;
    const comer = () => [...firstReported].find(([, at]) => at > pageReadyAt)?.[0];
    while (comer() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const id = comer();
    expect(id, 'vision reported a shopper after the page was open').toBeDefined();
    await page.waitForSelector(`svg.floor g.shopper[data-id="${id}"]`, { timeout: 5_000 });
    const latencyMs = Date.now() - firstReported.get(id!)!;
    console.log(`shopper ${id} on the plan ${latencyMs} ms after vision first reported them`);
    expect(latencyMs).toBeLessThan(3_000);
    await page.waitForSelector('#kpi-occupancy .kpi:not([data-value="0"])', { timeout: 5_000 });
    expect(Number(await page.getAttribute('#kpi-occupancy .kpi', 'data-value'))).toBeGreaterThanOrEqual(1);

    // The shopper came in on a token at the entry gate: the dot and the sessions panel show it.
    await page.waitForSelector('svg.floor g.shopper.in-session', { timeout: 20_000 });
    const token = await page.getAttribute('svg.floor g.shopper.in-session', 'data-token');
    expect(token).toBeTruthy();
    await page.waitForSelector(`#sessions article.live-session[data-token="${token}"]`, { timeout: 5_000 });
    expect(await page.locator('svg.floor g.shopper.in-session text.shopper-token').first().textContent()).not.toBe('');
    expect(Number(await page.getAttribute('#kpi-sessions .kpi', 'data-value'))).toBeGreaterThanOrEqual(1);
    // The entry pass is in the recent events and today's footfall.
    await page.waitForSelector('#events tr[data-type="gate"]', { timeout: 5_000 });
    expect(Number(await page.getAttribute('#kpi-entries .kpi', 'data-value'))).toBeGreaterThanOrEqual(1);

    // The dot follows the shopper as they walk in.
    const dot = `svg.floor g.shopper[data-id="${id}"]`;
    const placedAt = await page.getAttribute(dot, 'style');
    expect(placedAt).toMatch(/translate\(/);
    const movedBy = Date.now() + 5_000;
    while ((await page.getAttribute(dot, 'style')) === placedAt && Date.now() < movedBy) await new Promise((r) => setTimeout(r, 50));
    expect(await page.getAttribute(dot, 'style')).not.toBe(placedAt);
    // For the picture: the shopper's first pick in their cart, when it comes before the replay ends.
    await page.waitForSelector(`#sessions article.live-session[data-token="${token}"] table.live-cart`, { timeout: 10_000 }).catch(() => undefined);
    expect(await page.locator('svg.floor g.shopper').count()).toBeGreaterThan(0);
    await page.screenshot({ path: artifactPath('admin/live.png'), fullPage: true });
    // A tablet held upright: one column, the plan first.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.screenshot({ path: artifactPath('admin/live-tablet.png') });
    // A shopper whose track ended leaves the plan (however busy the machine is, one ends in time).
    const endDeadline = Date.now() + 90_000;
    while (endedAt.size === 0 && Date.now() < endDeadline) await new Promise((r) => setTimeout(r, 50));
    expect(endedAt.size, 'a shopper track ended during the replay').toBeGreaterThan(0);
    for (const [gone] of endedAt) await page.waitForSelector(`svg.floor g.shopper[data-id="${gone}"]`, { state: 'detached', timeout: 5_000 });
    // Closed before the replay's agent stops, so the page's reconnect attempts are not counted as errors.
    await page.close();

    const summary = await done;
    expect(summary.problems).toEqual([]);
    expect(errors).toEqual([]);
  });
});
