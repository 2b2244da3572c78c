/**
 * The load-cell calibration wizard in real Chromium against the simulator, the way `edge-agent
 * demo` runs: the live simulator is a child process playing the demo store on pseudo-terminals and
 * MJPEG streams, and the agent runs on it in-process. Shelf 1.2's controller is the simulator's
 * own `SimShelfController` driven here on a pty (the mechanism of the `calibrate scale` test),
 * because the test must put a known mass on a plate: its stock is the simulator's `ShelfStock`.
 * Plate 1.2.3 starts with a wrong calibration; staff empty it, tare, put 500 g on it, span and
 * save, and the running agent reads the mass right at once. Then the Devices page shows the live
 * cameras' frames, and an admin solves camera point pairs on the Calibration page.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { StoreConfig } from '../../device-config/schema.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { PlateCalibrationRepository } from '../../edge-agent/src/db/repositories/plate-calibrations.js';
import { UserRepository } from '../../edge-agent/src/db/repositories/users.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { LiveDeviceMap } from '../../edge-agent/src/sim/live/device-map.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { resolveScenario } from '../../edge-agent/src/sim/scenario.js';
import { SimShelfController } from '../../edge-agent/src/sim/shelf-controllers.js';
import { DisturbanceSet, press } from '../../edge-agent/src/sim/shelf-disturbances.js';
import { ShelfStock, type StockUnit } from '../../edge-agent/src/sim/shelf-stock.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { addUsers, PASSWORDS, signIn, signInPage } from '../support/admin.js';
import { artifactPath, CHROMIUM_MISSING, chromiumAvailable, launchChromium } from '../support/chromium.js';
import { CLI, waitUntil } from '../support/cli.js';
import { DEMO_CONFIG_FILE, demoConfig } from '../support/demo-config.js';
import { DeviceEnd, PtyPair } from '../support/devices.js';
import { sharedPath } from '../support/shared.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const SHELF = '1.2';
const PLATE = '1.2.3';
const KNOWN_GRAMS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let browser: Browser | undefined;
beforeAll(async () => {
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** `edge-agent sim --live` as `edge-agent demo` starts it: a child process that prints its device map. */
async function startSimulator(): Promise<LiveDeviceMap> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'sim', '--live', '--config', DEMO_CONFIG_FILE, '--seed', '1', '--shoppers-per-hour', '900'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    child.stdin!.end();
    child.kill('SIGTERM');
    await exited;
  });
  return new Promise<LiveDeviceMap>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulator was not ready within 60 s: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string } & LiveDeviceMap;
        if (msg.event === 'ready') {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // log lines
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited: ${stderr}`));
    });
  });
}

/** One simulated shelf controller on a pty, sampling the simulator's stock at 60 Hz in wall time. */
class SimulatedShelf {
  readonly stock: ShelfStock;
  readonly disturbances = new DisturbanceSet();
  readonly controller: SimShelfController;
  private readonly pty: PtyPair;
  private device: DeviceEnd | undefined;
  private running = false;
  private pump: Promise<void> | undefined;

  constructor(
    private readonly layout: StoreLayout,
    config: StoreConfig,
    dir: string,
  ) {
    this.stock = new ShelfStock(layout, config.planogram.products, new Random(21));
    const knobs = resolveScenario({ seed: 1, minutes: 1, shoppers: 0, profile: 'busy' }).knobs;
    this.controller = new SimShelfController(layout.shelves.get(SHELF)!, config.store.id, new Random(5), knobs, Date.now());
    this.pty = new PtyPair(dir);
  }

  get url(): string {
    return `serial://${this.pty.a}`;
  }

  truth(plate: string) {
    return this.controller.hardware.find((h) => h.plate === plate)!;
  }

  async start(): Promise<void> {
    await this.pty.plugIn();
    this.device = await DeviceEnd.open(this.pty.b);
    await this.device.write(this.controller.boot().bytes);
    this.running = true;
    this.pump = (async () => {
      while (this.running) {
        const chunks: Buffer[] = [];
        while (this.controller.nextAt <= Date.now()) for (const o of this.controller.sample(this.stock, this.disturbances)) chunks.push(Buffer.from(o.bytes));
        if (chunks.length > 0) await this.device!.write(Buffer.concat(chunks)).catch(() => undefined);
        await sleep(8);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.pump;
    await this.device?.close();
    await this.pty.unplug();
  }

  /** Staff take every unit off the plate; their hands press on it while they do. */
  emptyPlate(plate: string): void {
    this.disturbances.add(press(plate, Date.now(), 600, 120, 3));
    for (let guard = 0; guard < 500 && this.stock.load(plate) > 0.01; guard++) {
      const unit = [...this.stock.allUnits()].find((u) => this.stock.shares(u).some((s) => s.plate === plate && s.grams > 0));
      if (!unit) break;
      this.stock.take(unit.product, unit.shelf, unit.u);
    }
  }

  /** A reference mass set down in the middle of the plate by hand. */
  putMass(plate: string, grams: number): void {
    const layout = this.layout.plates.get(plate)!;
    this.disturbances.add(press(plate, Date.now(), 500, 150, 4));
    const mass: StockUnit = { id: 0, product: 'reference-mass', weight: grams, shelf: '', u: 0, depth: 0, widthM: 0.05, heightM: 0.05, misplaced: false };
    this.stock.misplace(mass, layout);
  }

  takeMass(): void {
    const unit = [...this.stock.allUnits()].find((u) => u.product === 'reference-mass')!;
    this.stock.take(unit.product, unit.shelf, unit.u);
  }
}

/** The mean of the agent's live readings of a plate over about a second. */
async function meanGrams(agent: Agent, plate: string): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < 40; i++) {
    const g = agent.shelfReadings.gramsOn(plate);
    if (g !== null) values.push(g);
    await sleep(25);
  }
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function watchConsole(page: Page, name: string, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name}: ${m.text()}`);
  });
}

describe.skipIf(!chromiumAvailable())(`calibration and devices pages on the live simulator (${chromiumAvailable() ? 'Debian chromium' : CHROMIUM_MISSING})`, { timeout: 240_000 }, () => {
  it('calibrates a plate with the wizard against the simulator and the running agent reads the known mass at once', async () => {
    const dir = tempDir();
    const map = await startSimulator();
    const base = demoConfig(join(dir, 'data'));
    const model = sharedPath('models', 'yolox_nano_416.onnx');
    const config: StoreConfig = {
      ...base,
      alerts: { ...base.alerts, diskLowMb: 0 },
      // People boxes on the camera snapshots when the reference detector is at hand.
      ...(existsSync(model) ? { vision: { ...base.vision, detector: { model, threads: 1 } } } : {}),
    };
    const layout = new StoreLayout(config);
    const shelf = new SimulatedShelf(layout, config, dir);
    await shelf.start();
    cleanups.push(() => shelf.stop());

    // The simulator's calibration file, with plate 1.2.3 calibrated wrongly (6 % span, 40 g zero).
    const seed = JSON.parse(readFileSync(map.calibration, 'utf8')) as { plates: { plate: string; zeroCounts: number; countsPerGram: number }[] };
    const wrong = seed.plates.find((p) => p.plate === PLATE)!;
    wrong.zeroCounts += 40 * wrong.countsPerGram;
    wrong.countsPerGram *= 1.06;
    const seedFile = join(dir, 'scales.json');
    writeFileSync(seedFile, JSON.stringify(seed));

    const agent = new Agent({
      config,
      secrets: { screenTokens: new Map() },
      log: silentLogger(),
      version: 'test',
      transports: { resolveSim: (name) => (name === `shelf-${SHELF}` ? shelf.url : map.devices[name]) },
      calibrationSeed: seedFile,
      simulatedProducts: true,
    });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    await addUsers(agent.database);
    const url = agent.adminUrl!;
    await waitUntil(async () => agent.shelfReadings.gramsOn(PLATE) !== null, 20_000, 'readings of plate 1.2.3');

    const errors: string[] = [];
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    watchConsole(page, 'staff', errors);
    await signInPage(page, url, 'staff', PASSWORDS.staff);
    await page.goto(`${url}/calibration?plate=${PLATE}`);
    await page.waitForSelector('#scale-wizard:not([hidden])');
    await page.waitForSelector('[data-testid="plate-reading"]');
    expect(await page.inputValue('#wizard-plate')).toBe(PLATE);
    // Staff see the wizard and the planogram, not the camera pairs (admin).
    expect(await page.isHidden('#camera-pairs')).toBe(true);
    await page.waitForSelector(`#planogram-view tr[data-plate="${PLATE}"]`);

    // Step 1: empty the plate, hands off, tare.
    shelf.emptyPlate(PLATE);
    expect(shelf.stock.load(PLATE)).toBeLessThan(0.01);
    await sleep(1_000);
    await page.click('#tare');
    await page.waitForSelector('.cal-measuring');
    const tare = await page.waitForSelector('[data-testid="tare-result"]', { timeout: 15_000 });
    expect(await tare.textContent()).toMatch(/^Zero: -?[\d,.\s]+ counts/);

    // Step 2: the reference mass goes on the plate; the hand leaves; span.
    shelf.putMass(PLATE, KNOWN_GRAMS);
    await sleep(800);
    await page.fill('#known-grams', String(KNOWN_GRAMS));
    await page.click('#span');
    await page.waitForSelector('[data-testid="span-result"]', { timeout: 20_000 });
    const check = await page.textContent('[data-testid="check-reading"]');
    const checkGrams = Number(check!.split(' g')[0]!.replace(/[^\d.-]/g, ''));
    expect(Math.abs(checkGrams - KNOWN_GRAMS)).toBeLessThan(3);
    await page.screenshot({ path: artifactPath('admin/calibration-span.png') });
    // The wrong calibration in force misreads the mass, which is why the plate is being calibrated.
    expect(Math.abs((await meanGrams(agent, PLATE)) - KNOWN_GRAMS)).toBeGreaterThan(40);

    // Step 3: save; the running pipeline uses it from the next sample.
    await page.click('#save');
    await page.waitForSelector('[data-testid="wizard-saved"]');
    const truth = shelf.truth(PLATE);
    const saved = new PlateCalibrationRepository(agent.database.handle).latest().get(PLATE)!;
    expect(saved).toMatchObject({ plate: PLATE, operator: 'staff', knownMassGrams: KNOWN_GRAMS, source: 'admin-page' });
    expect(Math.abs(saved.countsPerGram / truth.countsPerGram - 1)).toBeLessThan(0.005);
    expect(Math.abs(saved.zeroCounts - truth.zeroCounts) / Math.abs(truth.countsPerGram)).toBeLessThan(2);
    expect(Math.abs((await meanGrams(agent, PLATE)) - KNOWN_GRAMS)).toBeLessThan(2);
    await waitUntil(async () => Math.abs(Number((await page.textContent('[data-testid="saved-reading"]'))!.replace(/[^\d.-]/g, '')) - KNOWN_GRAMS) < 8, 10_000, 'the page to show the mass read right');
    const audit = new UserRepository(agent.database.handle).auditLog(20).find((a) => a.action === 'calibration.plate');
    expect(audit).toMatchObject({ user: 'staff', subject: PLATE, detail: { plate: PLATE, operator: 'staff', result: { knownMassGrams: KNOWN_GRAMS } } });
    await page.screenshot({ path: artifactPath('admin/calibration.png'), fullPage: true });

    // The mass comes off: the plate reads empty with the new calibration.
    shelf.takeMass();
    await sleep(700);
    expect(Math.abs(await meanGrams(agent, PLATE))).toBeLessThan(2);

    // A hand left on the plate during the span: refused as unstable, nothing saved.
    const staff = await signIn(url, 'staff', PASSWORDS.staff);
    expect((await staff.fetch(`/api/calibration/plates/${PLATE}/tare`, { method: 'POST' })).status).toBe(200);
    shelf.putMass(PLATE, KNOWN_GRAMS);
    shelf.disturbances.add(press(PLATE, Date.now(), 6_000, 150, 2.5));
    const unstable = await staff.fetch(`/api/calibration/plates/${PLATE}/span`, { method: 'POST', body: { knownGrams: KNOWN_GRAMS } });
    const unstableBody = (await unstable.json()) as { error: string };
    expect(unstable.status, unstableBody.error).toBe(409);
    expect(unstableBody.error).toMatch(/the plate was not still/);
    expect(new PlateCalibrationRepository(agent.database.handle).history(PLATE)).toHaveLength(2);

    // Devices: the simulator's cameras stream; their latest frames come back as JPEGs.
    await waitUntil(async () => config.cameras.every((c) => agent.adminContext.vision.lastFrame(c.id) !== undefined), 60_000, 'a frame from every camera');
    const viewer = await browser!.newPage({ viewport: { width: 1280, height: 1100 } });
    watchConsole(viewer, 'viewer', errors);
    await signInPage(viewer, url, 'viewer', PASSWORDS.viewer);
    if (config.vision.detector) {
      // Give vision a while to see a shopper, so the snapshot shows its boxes.
      await waitUntil(async () => config.cameras.some((c) => (agent.adminContext.vision.lastFrame(c.id)?.tracks.length ?? 0) > 0), 60_000, 'people on a camera').catch(() => undefined);
    }
    await viewer.goto(`${url}/devices`);
    const shown = viewer.locator('.camera-card img.snapshot:not([hidden])');
    await waitUntil(async () => (await shown.count()) === config.cameras.length, 20_000, 'a snapshot on every camera card');
    for (const src of await shown.evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')))) expect(src).toMatch(/^blob:/);
    await waitUntil(async () => (await viewer.locator('.snapshot-note', { hasText: 'on this frame' }).count()) === config.cameras.length, 10_000, 'the snapshot notes');
    const shelfRow = await viewer.textContent('#shelves');
    expect(shelfRow).toContain(`Shelf ${SHELF}`);
    expect(shelfRow).toMatch(/s ago/);
    expect(await viewer.textContent('#screens')).toContain('Drinks and snacks');
    const busiest = [...config.cameras].sort((a, b) => (agent.adminContext.vision.lastFrame(b.id)?.tracks.length ?? 0) - (agent.adminContext.vision.lastFrame(a.id)?.tracks.length ?? 0))[0]!;
    const jpeg = await signIn(url, 'viewer', PASSWORDS.viewer).then((v) => v.fetch(`/api/devices/cameras/${busiest.id}/snapshot.jpg`));
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await jpeg.arrayBuffer());
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    writeFileSync(artifactPath('admin/devices-snapshot.jpg'), bytes);
    await viewer.screenshot({ path: artifactPath('admin/devices.png'), fullPage: true });

    // An admin marks point pairs for an overhead camera and sees the reprojection error.
    const adminPage = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    watchConsole(adminPage, 'admin', errors);
    await signInPage(adminPage, url, 'admin', PASSWORDS.admin);
    await adminPage.goto(`${url}/calibration`);
    await adminPage.waitForSelector('#camera-pairs:not([hidden]) #pairs-body tr');
    const H = [0.012, 0.002, 0.4, 0.0004, 0.016, 0.2, 0.00002, 0.0006, 1];
    const marks = [[60, 40], [320, 50], [580, 45], [90, 180], [330, 190], [560, 175], [70, 320], [600, 330]].map(([u, v]) => {
      const w = H[6]! * u! + H[7]! * v! + H[8]!;
      return `${u},${v},${((H[0]! * u! + H[1]! * v! + H[2]!) / w).toFixed(3)},${((H[3]! * u! + H[4]! * v! + H[5]!) / w).toFixed(3)}`;
    });
    await adminPage.fill('#pairs-paste', marks.join('\n'));
    await adminPage.click('#use-paste');
    await adminPage.click('#solve');
    const reprojection = await adminPage.waitForSelector('[data-testid="reprojection"]');
    expect(await reprojection.textContent()).toMatch(/Reprojection error: rms [\d.]+ cm .* 8 of 8 pairs agree/);
    await adminPage.screenshot({ path: artifactPath('admin/calibration-cameras.png'), fullPage: true });

    expect(errors).toEqual([]);
  });
});
