/**
 * A shelf screen in real Chromium while the simulator plays a shopper who lingers at a shelf:
 * the agent replays the simulated store (scales and gates from the recording, the shopper's floor
 * positions from the simulator's truth as the cameras would report them), analytics notices the
 * lingering, and the screen at that shelf shows the card chosen for it within one second.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { BusEvents } from '../../edge-agent/src/bus.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { replay } from '../../edge-agent/src/recording/replay-session.js';
import { recordSimulation } from '../../edge-agent/src/sim/record-simulation.js';
import { resolveScenario } from '../../edge-agent/src/sim/scenario.js';
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

describe.skipIf(!chromiumAvailable())(`shelf screen with the simulator (${chromiumAvailable() ? 'Debian chromium' : CHROMIUM_MISSING})`, { timeout: 180_000 }, () => {
  it('shows the lingering card on the screen at the shelf within 1 s of the shopper lingering', async () => {
    const config = demoConfig(join(tempDir(), 'data'));
    const dir = join(tempDir(), 'recording');
    // One shopper who stands 24–26 s at each shelf before reaching in: lingering after 20 s.
    const scenario = resolveScenario({ seed: 11, minutes: 1.5, shoppers: 1, knobs: { lingerSeconds: [24, 26], itemsMin: 1, itemsMax: 1 } });
    await recordSimulation({ config, scenario, out: dir, video: false, createdBy: 'shelf-screen test' });

    const pages = new Map<string, Page>();
    const errors: string[] = [];
    const lingering: { event: BusEvents['analytics.lingering']; wallAt: number }[] = [];
    const cards: BusEvents['signage.card'][] = [];
    let ready!: () => void;
    const pagesReady = new Promise<void>((resolve) => (ready = resolve));
    const done = replay({
      dir,
      speed: 3,
      port: 0,
      dataDir: join(tempDir(), 'replay-data'),
      log: silentLogger(),
      version: 'test',
      onAgent: (a) => {
        a.bus.on('analytics.lingering', 'test', (event) => void lingering.push({ event, wallAt: Date.now() }));
        a.bus.on('signage.card', 'test', (c) => void cards.push(c));
        // Every screen page is open and connected before the shopper gets to a shelf.
        a.bus.on('agent.started', 'test', () => {
          void (async () => {
            for (const screen of config.screens) {
              const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
              page.on('pageerror', (e) => errors.push(`${screen.id}: ${e.message}`));
              page.on('console', (m) => {
                if (m.type() === 'error') errors.push(`${screen.id}: ${m.text()}`);
              });
              await page.goto(`${a.adminUrl}/screens/${screen.id}?token=${a.signage.token(screen.id)}`);
              await page.waitForSelector('#screen[data-connected="true"]', { timeout: 10_000 });
              pages.set(screen.id, page);
            }
            ready();
          })();
        });
      },
      truthFloor: { seed: 11, noiseM: 0.05, missRate: 0.02 },
    });
    await pagesReady;
    expect(lingering).toEqual([]);

    // The first lingering, at whichever shelf front the shopper chose.
    const deadline = Date.now() + 120_000;
    while (lingering.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lingering.length).toBeGreaterThan(0);
    const first = lingering[0]!;
    const screen = config.screens.find((s) => s.zone === first.event.zone);
    expect(screen, `a screen in ${first.event.zone}`).toBeDefined();
    const page = pages.get(screen!.id)!;
    await page.waitForSelector('#screen[data-trigger="lingering"]', { timeout: 5_000 });
    const latencyMs = Date.now() - first.wallAt;
    const card = cards.find((c) => c.screen === screen!.id && c.trigger === 'lingering')!;
    const shown = await page.getAttribute('#screen', 'data-products');
    // After the card's fade-in, so the saved picture is what a shopper sees.
    await page.waitForTimeout(600);
    await page.screenshot({ path: artifactPath('screens/lingering-card.png') });
    console.log(`lingering at ${first.event.zone} → ${screen!.id} showed ${shown} after ${latencyMs} ms`);
    expect(latencyMs).toBeLessThan(1_000);
    // The expected card: the one the agent stored for this lingering, products of that screen's shelves.
    expect(shown).toBe(card.products.join(','));
    const shelfProducts = config.planogram.products.filter((p) => p.plates.some((plate) => screen!.shelves.some((s) => plate.startsWith(`${s}.`)))).map((p) => p.id);
    for (const product of card.products) expect(shelfProducts).toContain(product);
    for (const product of card.products) {
      const name = config.planogram.products.find((p) => p.id === product)!.name;
      expect(await page.getByText(name, { exact: true }).count()).toBeGreaterThan(0);
    }
    const summary = await done;
    expect(summary.problems).toEqual([]);
    expect(errors).toEqual([]);
  });
});
