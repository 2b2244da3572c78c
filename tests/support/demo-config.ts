import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../device-config/validate.js';
import type { StoreConfig } from '../../device-config/schema.js';

export const DEMO_CONFIG_FILE = join(import.meta.dirname, '..', '..', 'device-config', 'demo-store.json');

/** The demo store's file as parsed JSON, fresh for each caller to modify. */
export function demoRaw(): Record<string, any> {
  return JSON.parse(readFileSync(DEMO_CONFIG_FILE, 'utf8')) as Record<string, any>;
}

/** The demo store, validated and with defaults filled, pointed at a test's own data directory and a free port. */
export function demoConfig(dataDir: string): StoreConfig {
  const result = validateConfig(demoRaw());
  if (!result.ok) throw new Error('demo-store.json is invalid: ' + JSON.stringify(result.errors));
  return { ...result.config, dataDir, admin: { ...result.config.admin, host: '127.0.0.1', port: 0 } };
}

/** The demo store without any device: for tests of the agent's own machinery. */
export function bareConfig(dataDir: string): StoreConfig {
  const config = demoConfig(dataDir);
  return {
    ...config,
    cameras: [],
    gondolas: [],
    gates: [],
    rfid: { ...config.rfid, readers: [] },
    planogram: { products: [], promotions: [] },
    screens: [],
    // A nearly full disk on the test machine must not add alerts to the traffic tests count.
    alerts: { ...config.alerts, diskLowMb: 0 },
  };
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/**
 * The demo store without cameras, gates or RFID readers (they would only be retried without a
 * simulator; tests drive the bus instead) and with no disk-low alert from the test machine.
 */
export function devicelessConfig(dataDir: string): StoreConfig {
  const base = demoConfig(dataDir);
  return { ...base, cameras: [], gates: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 } };
}
