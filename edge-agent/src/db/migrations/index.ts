import type { Migration } from '../migrate.js';
import { agentRuns } from './001-agent-runs.js';
import { configSnapshots } from './002-config-snapshots.js';

/** Every schema step, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [agentRuns, configSnapshots];
