import type { Migration } from '../migrate.js';

/** One row per agent start; a run without `stopped_at` ended in a crash or power loss. */
export const agentRuns: Migration = {
  version: 1,
  name: 'agent-runs',
  up(db) {
    db.exec(`
      CREATE TABLE agent_runs (
        id            INTEGER PRIMARY KEY,
        started_at    INTEGER NOT NULL,
        stopped_at    INTEGER,
        stop_reason   TEXT,
        agent_version TEXT    NOT NULL,
        hostname      TEXT    NOT NULL,
        pid           INTEGER NOT NULL
      );
      CREATE INDEX agent_runs_started_at ON agent_runs (started_at);
    `);
  },
};
