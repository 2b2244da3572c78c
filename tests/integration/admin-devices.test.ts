/**
 * The Devices and Calibration pages' API on a running agent (real SQLite, real HTTP) whose
 * devices are configured but not there (no simulator): roles, CSRF, input validation with
 * reasons, the device list, a camera snapshot before any frame, the load-cell wizard's refusals
 * and the camera point-pair solve and save.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCameraCalibration } from '../../calibration/camera-homography.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { UserRepository } from '../../edge-agent/src/db/repositories/users.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signIn, type Signed } from '../support/admin.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

let agent: Agent;
let url: string;
let dataDir: string;
const as: Partial<Record<'admin' | 'staff' | 'viewer', Signed>> = {};

beforeAll(async () => {
  dataDir = join(tempDir(), 'data');
  const base = demoConfig(dataDir);
  // Every device of the demo store configured, none running: cameras name a simulator that is not there.
  const config = { ...base, alerts: { ...base.alerts, diskLowMb: 0 } };
  agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
  await agent.start();
  await addUsers(agent.database);
  url = agent.adminUrl!;
  for (const role of ['admin', 'staff', 'viewer'] as const) as[role] = await signIn(url, role, PASSWORDS[role]);
}, 60_000);

afterAll(async () => {
  await agent?.stop('test');
});

/** The body, checked never to carry a stack trace. */
async function body(res: Response): Promise<any> {
  const text = await res.text();
  expect(text).not.toMatch(/\n\s+at /);
  return res.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : text;
}

async function expectStatus(res: Promise<Response>, status: number, error?: RegExp): Promise<any> {
  const r = await res;
  const b = await body(r);
  expect(r.status, JSON.stringify(b)).toBe(status);
  if (error) expect(b.error).toMatch(error);
  return b;
}

const anonymous = (path: string, method = 'GET') => fetch(`${url}${path}`, { method, headers: { accept: 'application/json' } });
const withoutCsrf = (who: Signed, path: string, payload?: unknown) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { cookie: who.cookie, 'content-type': 'application/json' }, body: JSON.stringify(payload ?? {}) });
const rawPost = (who: Signed, path: string, raw: string) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' }, body: raw });

describe('devices API', { timeout: 60_000 }, () => {
  it('lists every device of the store for viewers, and refuses anonymous callers', async () => {
    await expectStatus(anonymous('/api/devices'), 401);
    const page = await fetch(`${url}/devices`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    const html = await expectStatus(as.viewer!.fetch('/devices', { headers: { accept: 'text/html' } }), 200);
    expect(html).toContain('/assets/devices.js');

    const view = await expectStatus(as.viewer!.fetch('/api/devices'), 200);
    const kinds = (kind: string) => view.devices.filter((d: { kind: string }) => d.kind === kind).map((d: { id: string }) => d.id);
    const config = agent.config;
    expect(kinds('camera')).toEqual(config.cameras.map((c) => c.id));
    expect(kinds('shelf')).toEqual([...agent.layout.shelves.keys()].map((k) => `shelf-${k}`));
    expect(kinds('rfid')).toEqual(config.rfid.readers.map((r) => r.id));
    expect(kinds('gate')).toEqual(config.gates.map((g) => g.id));
    expect(kinds('screen')).toEqual(config.screens.map((s) => s.id));
    for (const d of view.devices) {
      expect(Object.keys(d).sort()).toEqual(['availability', 'component', 'detail', 'id', 'kind', 'lastSampleAt', 'metrics', 'name', 'online', 'parseErrors', 'reconnects', 'status'].sort());
    }
    const camera = view.devices.find((d: { id: string }) => d.id === 'cam-overhead-1');
    // No simulator to resolve sim:// against: the camera was never set up, and says why.
    expect(camera).toMatchObject({ status: 'down', component: null, online: null, lastSampleAt: null, metrics: { snapshotAt: null, inferenceMsP50: null } });
    expect(camera.detail).toMatch(/no simulated camera/);
    const shelf = view.devices.find((d: { id: string }) => d.id === 'shelf-1.1');
    expect(shelf).toMatchObject({ component: 'shelf-1.1', status: 'degraded', lastSampleAt: null, parseErrors: 0, metrics: { protocol: 'scale-line', plates: 6 } });
    expect(typeof shelf.reconnects).toBe('number');
    const screen = view.devices.find((d: { id: string }) => d.id === 'screen-1');
    expect(screen).toMatchObject({ status: 'degraded', metrics: { connected: 0 }, detail: 'no browser connected' });
    expect(view.vision).toMatchObject({ model: null });
  });

  it('answers a camera snapshot with 404 and the reason before any frame, and 404 for an unknown camera', async () => {
    await expectStatus(anonymous('/api/devices/cameras/cam-overhead-1/snapshot.jpg'), 401);
    await expectStatus(as.viewer!.fetch('/api/devices/cameras/cam-overhead-1/snapshot.jpg'), 404, /^no frame from camera cam-overhead-1 yet \(.*no simulated camera/);
    await expectStatus(as.viewer!.fetch('/api/devices/cameras/cam-nope/snapshot.jpg'), 404, /^no camera cam-nope$/);
  });
});

describe('calibration API', { timeout: 60_000 }, () => {
  it('shows the plates and the planogram to viewers; wizard steps need staff and the CSRF token', async () => {
    await expectStatus(anonymous('/api/calibration/plates'), 401);
    await expectStatus(anonymous('/api/calibration/plates/1.1.1/tare', 'POST'), 401);
    const plates = await expectStatus(as.viewer!.fetch('/api/calibration/plates'), 200);
    expect(plates.plates).toHaveLength(agent.layout.plates.size);
    expect(plates.plates[0]).toMatchObject({ plate: '1.1.1', shelf: '1.1', protocol: 'scale-line', grams: null, calibration: null });
    expect(plates.plates[0].products).toContain('Still water 1.5 l');
    expect(plates.wizards).toEqual([]);
    const html = await expectStatus(as.viewer!.fetch('/calibration', { headers: { accept: 'text/html' } }), 200);
    expect(html).toContain('/assets/calibration.js');

    const planogram = await expectStatus(as.viewer!.fetch('/api/calibration/planogram'), 200);
    expect(planogram.currency).toBe(agent.config.store.currency);
    expect(planogram.gondolas.map((g: { id: number }) => g.id)).toEqual([1, 2]);
    const plate = planogram.gondolas[0].shelves[0].plates[0];
    expect(plate).toMatchObject({ plate: '1.1.1', grams: null });
    expect(plate.products[0]).toEqual({ id: 'water-still-1500', name: 'Still water 1.5 l', unitWeight: 1560, price: 69 });

    await expectStatus(as.viewer!.fetch('/api/calibration/plates/1.1.1/tare', { method: 'POST' }), 403, /needs the staff role/);
    await expectStatus(as.viewer!.fetch('/api/calibration/plates/1.1.1/save', { method: 'POST' }), 403);
    await expectStatus(withoutCsrf(as.staff!, '/api/calibration/plates/1.1.1/tare'), 403, /x-csrf-token/);
    await expectStatus(withoutCsrf(as.staff!, '/api/calibration/plates/1.1.1/span', { knownGrams: 500 }), 403, /x-csrf-token/);
  });

  it('refuses bad plates (404), bad masses (400), steps out of order and plates without readings (409)', async () => {
    const staff = as.staff!;
    await expectStatus(staff.fetch('/api/calibration/plates/9.9.9/tare', { method: 'POST' }), 404, /no plate 9\.9\.9/);
    await expectStatus(staff.fetch('/api/calibration/plates/banana/span', { method: 'POST', body: { knownGrams: 500 } }), 404, /no plate banana/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: { knownGrams: 0 } }), 400, /knownGrams/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: { knownGrams: 'lots' } }), 400, /knownGrams/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: {} }), 400, /knownGrams/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: { knownGrams: 500, plate: '1.1.2' } }), 400, /additional/);
    await expectStatus(rawPost(staff, '/api/calibration/plates/1.1.1/span', '{"knownGrams": 1e999}'), 400, /knownGrams/);
    const capacity = agent.layout.plates.get('1.1.1')!.capacityGrams;
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: { knownGrams: capacity + 1 } }), 400, /more than plate 1\.1\.1 carries/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/span', { method: 'POST', body: { knownGrams: 500 } }), 409, /^tare plate 1\.1\.1 first$/);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/save', { method: 'POST' }), 409, /no tare and span to save/);
    // No shelf controller is connected: the tare measures nothing and says so.
    const started = Date.now();
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/tare', { method: 'POST' }), 409, /no readings from the plate/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect((await expectStatus(staff.fetch('/api/calibration/plates'), 200)).wizards).toEqual([]);
    await expectStatus(staff.fetch('/api/calibration/plates/1.1.1/cancel', { method: 'POST' }), 200);
  });

  it('solves camera point pairs with their reprojection error, validates them, and saves the file with an audit entry', async () => {
    const admin = as.admin!;
    await expectStatus(anonymous('/api/calibration/cameras'), 401);
    await expectStatus(as.staff!.fetch('/api/calibration/cameras'), 403, /needs the admin role/);
    await expectStatus(as.staff!.fetch('/api/calibration/cameras/cam-overhead-1/solve', { method: 'POST', body: { pairs: [] } }), 403);
    const list = await expectStatus(admin.fetch('/api/calibration/cameras'), 200);
    expect(list.cameras.map((c: { id: string }) => c.id)).toEqual(['cam-overhead-1', 'cam-overhead-2']);
    expect(list.cameras[0]).toMatchObject({ configured: false, inUse: false, current: null, file: join(dataDir, 'calibration', 'cam-overhead-1.json') });

    // An oblique view of the floor: marks where this plane puts a grid of floor points.
    const H = [0.012, 0.002, 0.4, 0.0004, 0.016, 0.2, 0.00002, 0.0006, 1];
    const pairs = [
      [60, 40], [320, 50], [580, 45], [90, 180], [330, 190], [560, 175], [70, 320], [600, 330],
    ].map(([u, v]) => {
      const w = H[6]! * u! + H[7]! * v! + H[8]!;
      return { u: u!, v: v!, x: (H[0]! * u! + H[1]! * v! + H[2]!) / w, y: (H[3]! * u! + H[4]! * v! + H[5]!) / w };
    });
    const solveUrl = '/api/calibration/cameras/cam-overhead-1/solve';
    await expectStatus(withoutCsrf(admin, solveUrl, { pairs }), 403, /x-csrf-token/);
    await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: pairs.slice(0, 3) } }), 400, /pairs must NOT have fewer than 4 items/);
    await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: [...pairs.slice(0, 4), { u: 1, v: 2, x: 'a', y: 3 }] } }), 400, /pairs\/4\/x must be number/);
    await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: [...pairs.slice(0, 4), { u: 1, v: 2, x: null, y: 3 }] } }), 400, /must be number/);
    await expectStatus(rawPost(admin, solveUrl, JSON.stringify({ pairs }).replace(/"u":60,/, '"u":1e999,')), 400, /pair 1: u is not a finite number/);
    await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: [...pairs, { u: 700, v: 10, x: 1, y: 1 }] } }), 400, /pair 9: image point 700,10 is outside the 640×360 image/);
    const line = [0, 1, 2, 3, 4].map((i) => ({ u: 100 + i * 50, v: 100 + i * 20, x: i, y: i * 0.4 }));
    await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: line } }), 400, /lie on \(nearly\) one line/);
    await expectStatus(admin.fetch('/api/calibration/cameras/cam-shelf-1/solve', { method: 'POST', body: { pairs } }), 400, /shelf camera/);
    await expectStatus(admin.fetch('/api/calibration/cameras/cam-nope/solve', { method: 'POST', body: { pairs } }), 404, /no camera cam-nope/);

    // One mis-clicked mark among nine: RANSAC leaves it out and says which.
    const misclicked = [...pairs, { u: 450, v: 260, x: 1, y: 1 }];
    const solved = await expectStatus(admin.fetch(solveUrl, { method: 'POST', body: { pairs: misclicked } }), 200);
    expect(solved).toMatchObject({ camera: 'cam-overhead-1', inliers: 8, imageSize: { width: 640, height: 360 } });
    expect(solved.pairs).toHaveLength(9);
    expect(solved.pairs[8]).toMatchObject({ inlier: false });
    expect(solved.pairs[8].errorM).toBeGreaterThan(1);
    expect(solved.rmsErrorM).toBeLessThan(0.001);
    // Solving saves nothing.
    const file = join(dataDir, 'calibration', 'cam-overhead-1.json');
    expect(existsSync(file)).toBe(false);

    const saved = await expectStatus(admin.fetch('/api/calibration/cameras/cam-overhead-1/save', { method: 'POST', body: { pairs: misclicked, mount: { heightM: 3.2 } } }), 200);
    expect(saved).toMatchObject({ ok: true, file, configured: false, inliers: 8 });
    expect(saved.note).toMatch(/set cameras\[\]\.calibration of cam-overhead-1/);
    const written = readCameraCalibration(file);
    expect(written).toMatchObject({ camera: 'cam-overhead-1', operator: 'admin', inliers: 8, mount: { heightM: 3.2 }, imageSize: { width: 640, height: 360 } });
    const audit = new UserRepository(agent.database.handle).auditLog(20).find((a) => a.action === 'calibration.camera');
    expect(audit).toMatchObject({ user: 'admin', subject: 'cam-overhead-1', detail: { file, pairs: 9, inliers: 8 } });
    const after = await expectStatus(admin.fetch('/api/calibration/cameras'), 200);
    expect(after.cameras[0].current).toMatchObject({ inliers: 8, operator: 'admin', mount: { heightM: 3.2 } });
    expect(after.cameras[0].current.pairs).toHaveLength(9);
  });
});
