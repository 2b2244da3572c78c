/**
 * Migrations of configuration files written for older agents. Each step takes the parsed JSON of
 * version `from` and returns the JSON of version `from + 1`; they run before validation, so the
 * schema only ever describes the current version.
 */
import { CONFIG_VERSION } from './schema.js';

export interface ConfigMigration {
  from: number;
  description: string;
  migrate(raw: Record<string, unknown>): Record<string, unknown>;
}

/** Version 1 is the first released format, so there is nothing to migrate yet. */
export const CONFIG_MIGRATIONS: readonly ConfigMigration[] = [];

export interface MigrationOutcome {
  raw: unknown;
  fromVersion: number | undefined;
  applied: string[];
  /** Set when the file cannot be brought to the current version. */
  problem?: { path: string; message: string; tooNew?: boolean };
}

export function migrateConfig(
  raw: unknown,
  migrations: readonly ConfigMigration[] = CONFIG_MIGRATIONS,
  currentVersion: number = CONFIG_VERSION,
): MigrationOutcome {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { raw, fromVersion: undefined, applied: [], problem: { path: '', message: 'must be a JSON object' } };
  }
  const version = (raw as Record<string, unknown>)['version'];
  if (version === undefined) {
    return { raw, fromVersion: undefined, applied: [], problem: { path: '/version', message: `required (this agent reads version ${currentVersion})` } };
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { raw, fromVersion: undefined, applied: [], problem: { path: '/version', message: 'must be a positive integer' } };
  }
  if (version > currentVersion) {
    return {
      raw,
      fromVersion: version,
      applied: [],
      problem: { path: '/version', message: `file is version ${version}, written for a newer agent; this agent reads up to ${currentVersion}`, tooNew: true },
    };
  }
  let current: Record<string, unknown> = structuredClone(raw as Record<string, unknown>);
  const applied: string[] = [];
  for (let v = version; v < currentVersion; v++) {
    const step = migrations.find((m) => m.from === v);
    if (!step) {
      return { raw, fromVersion: version, applied, problem: { path: '/version', message: `no migration from version ${v} to ${v + 1}` } };
    }
    current = { ...step.migrate(current), version: v + 1 };
    applied.push(`${v} → ${v + 1}: ${step.description}`);
  }
  return { raw: current, fromVersion: version, applied };
}
