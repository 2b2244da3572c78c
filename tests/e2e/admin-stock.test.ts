/**
 * The Stock & alerts page in real Chromium: a shelf read by the agent shows its counts, a facing
 * emptied by shoppers is out of stock and alerted, staff acknowledge the alert and start a restock
 * from the page. A screenshot is saved and looked at.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signInPage } from '../support/admin.js';
import { artifactPath, chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/chromium.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
let browser: Browser | undefined;
beforeAll(async () => {
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!chromiumAvailable())(`stock page (${chromiumAvailable() ? 'Debian chromium' : CHROMIUM_MISSING})`, { timeout: 90_000 }, () => {
  it('shows counts and alerts; staff acknowledge an alert and start a restock', async () => {
    const config = devicelessConfig(tempDir());
    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    try {
      await addUsers(agent.database);
      // Shelf 1.1 as its controller reports it, then the sparkling water on plate 3 sold out.
      const grams = [4 * 1560, 4 * 1560, 1 * 530, 5 * 530, 4 * 1080, 4 * 1080];
      let at = Date.now();
      const run = (seconds: number, during?: (i: number) => void) => {
        for (let i = 0; i < seconds * 50; i++) {
          during?.(i);
          at += 20;
          agent.gramsSink({ shelf: '1.1', at, grams: new Float64Array(grams.map((g, j) => g + 0.4 * Math.sin(i + j))) });
        }
      };
      run(4);
      run(0.4, (i) => {
        if (i >= 5 && i < 15) grams[2]! -= 53;
      });
      run(4);
      expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 0 });

      const page: Page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await signInPage(page, agent.adminUrl!, 'staff', PASSWORDS.staff);
      await page.goto(`${agent.adminUrl}/stock`);
      await page.waitForSelector('#facings tr[data-plate="1.1.3"][data-state="out"]');
      expect(await page.textContent('#facings tr[data-plate="1.1.4"] td:nth-child(3)')).toBe('5');
      const alertRow = '#alerts tr[data-kind="out-of-stock"][data-state="open"]';
      await page.waitForSelector(alertRow);
      await page.click(`${alertRow} button`);
      await page.waitForSelector('#alerts tr[data-kind="out-of-stock"][data-state="acknowledged"]');
      await page.selectOption('#restock-shelf', '1.1');
      await page.click('#restock button[type="submit"]');
      await page.waitForSelector('#restocking li');
      expect(agent.stock.restock.active('1.1', Date.now())).toBe(true);
      await page.screenshot({ path: artifactPath('admin/stock.png'), fullPage: true });
      await page.close();
      expect(errors).toEqual([]);
    } finally {
      await agent.stop('test');
    }
  });
});
