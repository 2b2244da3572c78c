import { describe, expect, it } from 'vitest';
import { CONFIG_VERSION } from '../../device-config/schema.js';
import { migrateConfig, type ConfigMigration } from '../../device-config/migrations.js';
import { validateConfig, type ConfigIssue } from '../../device-config/validate.js';
import { gtinCheckDigitOk } from '../../device-config/cross-references.js';
import { readSecrets } from '../../edge-agent/src/config/secrets.js';
import { demoRaw } from '../support/demo-config.js';

function errorsOf(raw: unknown): ConfigIssue[] {
  const result = validateConfig(raw);
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return result.errors;
}

const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path).sort();

describe('store configuration', () => {
  it('accepts the demo store and fills in defaults', () => {
    const raw = demoRaw();
    delete raw['retention'];
    delete raw['admin'];
    delete raw['gondolas'][0]['shelves'][0]['plates'][0]['capacityGrams'];
    const result = validateConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toEqual([]);
    expect(result.config.retention).toEqual({
      observationsDays: 7,
      sessionsDays: 30,
      receiptsDays: 400,
      analyticsDays: 400,
      operationsDays: 90,
      intervalMinutes: 60,
    });
    expect(result.config.admin).toEqual({ host: '127.0.0.1', port: 8080, secureCookies: false, sessionHours: 12, maxFailedLogins: 5, lockMinutes: 15 });
    expect(result.config.gondolas[0]!.shelves[0]!.plates[0]!.capacityGrams).toBe(20000);
    expect(result.config.gondolas).toHaveLength(2);
    expect(result.config.gondolas.flatMap((g) => g.shelves)).toHaveLength(8);
  });

  it('reports every planted mistake with its JSON path, in one pass', () => {
    const raw = demoRaw();
    raw['planogram']['products'][3]['unitWeight'] = 0;
    raw['cameras'][1]['fps'] = 'fast';
    raw['planogram']['products'][5]['plates'][1] = '9.9.9';
    const errors = errorsOf(raw);
    expect(paths(errors)).toEqual(['/cameras/1/fps', '/planogram/products/3/unitWeight', '/planogram/products/5/plates/1']);
    expect(errors.find((e) => e.path === '/planogram/products/3/unitWeight')!.message).toBe('must be > 0');
    expect(errors.find((e) => e.path === '/planogram/products/5/plates/1')!.message).toBe('unknown plate "9.9.9"');
  });

  it('rejects unknown keys and suggests the key that was meant', () => {
    const raw = demoRaw();
    raw['gondolas'][1]['shelves'][2]['plates'][0]['widthMM'] = 500;
    raw['storeName'] = 'x';
    const errors = errorsOf(raw);
    expect(errors).toContainEqual({ path: '/gondolas/1/shelves/2/plates/0/widthMM', message: 'unknown key (did you mean "widthM"?)' });
    expect(errors).toContainEqual({ path: '/storeName', message: 'unknown key' });
  });

  it('refuses secrets written into the file and points at the environment variable field', () => {
    const raw = demoRaw();
    raw['mqtt']['password'] = 'hunter2';
    expect(errorsOf(raw)).toEqual([
      { path: '/mqtt/password', message: 'secrets are not allowed in the file; name an environment variable in "usernameEnv" instead' },
    ]);
  });

  it('names a missing required field by its own path', () => {
    const raw = demoRaw();
    delete raw['planogram']['products'][0]['gtin'];
    expect(errorsOf(raw)).toEqual([{ path: '/planogram/products/0/gtin', message: 'required' }]);
  });

  it('checks references between sections and GTIN check digits', () => {
    const raw = demoRaw();
    raw['screens'][0]['zone'] = 'nowhere';
    raw['zones'][1]['id'] = raw['zones'][0]['id'];
    raw['planogram']['products'][2]['gtin'] = '4006380000031';
    raw['rfid']['readers'][0]['antennas'][0]['gate'] = 'gate-side';
    raw['zones'][2]['polygon'] = [[1, 1], [2, 2], [3, 3]];
    raw['gondolas'][0]['shelves'][0]['protocol'] = 'modbus-rtu';
    const errors = errorsOf(raw);
    expect(errors).toContainEqual({ path: '/screens/0/zone', message: 'unknown zone "nowhere"' });
    expect(errors).toContainEqual({ path: '/zones/1/id', message: 'duplicate zone "entry" (first at /zones/0/id)' });
    expect(errors).toContainEqual({ path: '/planogram/products/2/gtin', message: 'check digit of "4006380000031" is wrong (expected 2)' });
    expect(errors).toContainEqual({ path: '/rfid/readers/0/antennas/0/gate', message: 'unknown gate "gate-side"' });
    expect(errors).toContainEqual({ path: '/zones/2/polygon', message: 'polygon has no area (its points are repeated or on one line)' });
    expect(errors).toContainEqual({ path: '/gondolas/0/shelves/0/plates/0/modbus', message: 'required when the shelf protocol is "modbus-rtu"' });
  });

  it('gives an R200 module one antenna and warns about power set for an ASCII reader', () => {
    const raw = demoRaw();
    const shelfReader = raw['rfid']['readers'].findIndex((r: { protocol?: string }) => r.protocol === 'r200');
    raw['rfid']['readers'][shelfReader]['antennas'].push({ port: 2, role: 'shelf', shelf: '2.3' });
    expect(errorsOf(raw)).toEqual([{ path: `/rfid/readers/${shelfReader}/antennas`, message: 'an R200 module has one antenna' }]);
    // The protocol defaults to r200.
    delete raw['rfid']['readers'][shelfReader]['protocol'];
    expect(errorsOf(raw)).toEqual([{ path: `/rfid/readers/${shelfReader}/antennas`, message: 'an R200 module has one antenna' }]);

    const fixed = demoRaw();
    const gateReader = fixed['rfid']['readers'].findIndex((r: { protocol?: string }) => r.protocol === 'ascii-line');
    expect(fixed['rfid']['readers'][gateReader]['antennas']).toHaveLength(2);
    fixed['rfid']['readers'][gateReader]['powerDbm'] = 26;
    const result = validateConfig(fixed);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([{ path: `/rfid/readers/${gateReader}/powerDbm`, message: 'ignored: an ascii-line reader keeps its own settings' }]);
  });

  it('needs a detector for tracked cameras and warns about tracked cameras without a floor calibration', () => {
    const raw = demoRaw();
    raw['cameras'][0]['track'] = true;
    expect(errorsOf(raw)).toEqual([{ path: '/cameras/0/track', message: 'tracking people needs a person detector in /vision/detector' }]);

    const withDetector = demoRaw();
    withDetector['vision'] = { detector: { model: 'models/people.onnx' } };
    withDetector['cameras'][1]['calibration'] = 'calibration/cam-overhead-2.json';
    const result = validateConfig(withDetector);
    expect(result.ok).toBe(true);
    // Overhead cameras track by default once there is a detector; the shelf camera does not.
    expect(result.warnings.filter((w) => w.path.startsWith('/cameras'))).toEqual([
      { path: '/cameras/0/calibration', message: "without a floor calibration this camera's tracks stay in image pixels and never reach the store floor" },
    ]);
    if (result.ok) expect(result.config.vision).toMatchObject({ detector: { threads: 1 }, motion: { gate: true, refreshSeconds: 5 }, tracker: { birthFrames: 2, lostBufferSeconds: 2 } });

    const badModel = demoRaw();
    badModel['vision'] = { detector: { model: 'people.pt' } };
    expect(errorsOf(badModel).map((e) => e.path)).toEqual(['/vision/detector/model']);
  });

  it('fills in the analytics defaults and refuses a heatmap grid too fine for the floor', () => {
    const result = validateConfig(demoRaw());
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.config.analytics).toEqual({
        zones: { enterObservations: 3, exitSeconds: 2 },
        lingeringSeconds: 20,
        pickReachM: 1.5,
        heatmap: { cellM: 0.25, sampleSeconds: 0.2, stationaryRadiusM: 0.5, stationarySeconds: 300 },
        staffBadges: [],
      });
    }
    const huge = demoRaw();
    huge['store']['floor'] = { widthM: 200, depthM: 100 };
    huge['analytics'] = { heatmap: { cellM: 0.1 } };
    expect(errorsOf(huge)).toEqual([
      { path: '/analytics/heatmap/cellM', message: '2000000 heatmap cells on a 200 m × 100 m floor; at most 250000 (choose larger cells)' },
    ]);
    const badge = demoRaw();
    badge['analytics'] = { staffBadges: ['not hex'], zones: { enterObservations: 0 } };
    expect(paths(errorsOf(badge))).toEqual(['/analytics/staffBadges/0', '/analytics/zones/enterObservations']);
  });

  it('explains enum and pattern errors with the allowed values', () => {
    const raw = demoRaw();
    raw['cameras'][0]['role'] = 'ceiling';
    raw['gondolas'][0]['shelves'][1]['device'] = '/dev/ttyUSB0';
    const errors = errorsOf(raw);
    expect(errors).toContainEqual({ path: '/cameras/0/role', message: 'must be one of "overhead", "shelf", "entrance"' });
    const device = errors.find((e) => e.path === '/gondolas/0/shelves/1/device')!;
    expect(device.message).toMatch(/^"\/dev\/ttyUSB0" is not valid: expected where the device is: serial:\/\//);
  });

  it('warns about suspicious but usable settings without rejecting', () => {
    const raw = demoRaw();
    raw['planogram']['products'][0]['weightTolerance'] = 900;
    const result = validateConfig(raw);
    expect(result.ok).toBe(true);
    expect(result.warnings).toContainEqual({
      path: '/planogram/products/0/weightTolerance',
      message: 'half the unit weight or more: counts of this product cannot be told apart by weight',
    });
  });

  it('reads secrets from the environment variables the file names', () => {
    const raw = demoRaw();
    raw['mqtt']['usernameEnv'] = 'TEST_MQTT_USER';
    raw['mqtt']['passwordEnv'] = 'TEST_MQTT_PASSWORD';
    const result = validateConfig(raw);
    if (!result.ok) throw new Error('invalid');
    const missing = readSecrets(result.config, { TEST_MQTT_USER: 'store-7' });
    expect(missing.secrets.mqttUsername).toBe('store-7');
    expect(missing.missing).toEqual([{ path: '/mqtt/passwordEnv', message: 'environment variable TEST_MQTT_PASSWORD is not set' }]);
    const complete = readSecrets(result.config, { TEST_MQTT_USER: 'store-7', TEST_MQTT_PASSWORD: 's3cret' });
    expect(complete.missing).toEqual([]);
    expect(complete.secrets.mqttPassword).toBe('s3cret');
  });

  it('validates GTIN check digits of every length', () => {
    expect(gtinCheckDigitOk('96385074')).toBe(true); // GTIN-8
    expect(gtinCheckDigitOk('036000291452')).toBe(true); // UPC-A
    expect(gtinCheckDigitOk('4006381333931')).toBe(true); // EAN-13
    expect(gtinCheckDigitOk('10614141000415')).toBe(true); // GTIN-14
    expect(gtinCheckDigitOk('4006381333932')).toBe(false);
  });
});

describe('configuration versions', () => {
  const renameWeight: ConfigMigration = {
    from: CONFIG_VERSION,
    description: 'products: weight → unitWeight',
    migrate(raw) {
      const planogram = raw['planogram'] as { products: Record<string, unknown>[] };
      for (const p of planogram.products) {
        p['unitWeight'] = p['weight'];
        delete p['weight'];
      }
      return raw;
    },
  };

  it('migrates an older file step by step before validating it', () => {
    const raw = demoRaw();
    for (const p of raw['planogram']['products']) {
      p['weight'] = p['unitWeight'];
      delete p['unitWeight'];
    }
    // The file is one version behind an agent that knows one more migration.
    const outcome = migrateConfig(raw, [renameWeight], CONFIG_VERSION + 1);
    expect(outcome.problem).toBeUndefined();
    expect(outcome.applied).toEqual([`${CONFIG_VERSION} → ${CONFIG_VERSION + 1}: products: weight → unitWeight`]);
    const migrated = outcome.raw as Record<string, any>;
    expect(migrated['version']).toBe(CONFIG_VERSION + 1);
    expect(migrated['planogram']['products'][0]['unitWeight']).toBe(1560);
    expect(raw['planogram']['products'][0]['unitWeight']).toBeUndefined();
  });

  it('refuses a file written for a newer agent', () => {
    const raw = demoRaw();
    raw['version'] = CONFIG_VERSION + 1;
    const result = validateConfig(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.tooNew).toBe(true);
    expect(result.errors[0]!.path).toBe('/version');
  });

  it('reports a gap in the migration chain instead of guessing', () => {
    const outcome = migrateConfig({ ...demoRaw(), version: 1 }, [], 3);
    expect(outcome.problem).toEqual({ path: '/version', message: 'no migration from version 1 to 2' });
  });

  it('requires a version', () => {
    const raw = demoRaw();
    delete raw['version'];
    expect(errorsOf(raw)).toEqual([{ path: '/version', message: `required (this agent reads version ${CONFIG_VERSION})` }]);
  });

  it('requires a JSON object at the top', () => {
    expect(errorsOf([1, 2])).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });
});
