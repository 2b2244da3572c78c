import { hostname } from 'node:os';
import type { StoreConfig } from '../../device-config/schema.js';
import type { StoreDatabase } from './db/database.js';
import { AgentRunRepository, type AgentRun } from './db/repositories/agent-runs.js';
import { ConfigSnapshotRepository } from './db/repositories/config-snapshots.js';
import type { Component } from './lifecycle.js';
import type { Logger } from './log.js';

/** Stop reasons starting with this mark a stop forced by an unexpected error. */
export const CRASH_PREFIX = 'crash';

/**
 * Records this process's run and its configuration in the database, and tells on start
 * whether the previous run stopped cleanly (a run without a stop time crashed or lost power).
 */
export class AgentRunRecorder implements Component {
  readonly name = 'agent-run';
  readonly dependsOn = ['database'] as const;
  private runs: AgentRunRepository | undefined;
  private id: number | undefined;
  private previous: AgentRun | undefined;
  private reason = 'stopped';
  private started: number | undefined;

  constructor(
    private readonly database: StoreDatabase,
    private readonly config: StoreConfig,
    private readonly agentVersion: string,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  get runId(): number | undefined {
    return this.id;
  }

  get startedAt(): number | undefined {
    return this.started;
  }

  /** null when this is the first run on this database. */
  get previousRunStoppedCleanly(): boolean | null {
    if (this.previous === undefined) return null;
    return this.previous.stoppedAt !== null && !this.previous.stopReason?.startsWith(CRASH_PREFIX);
  }

  set stopReason(reason: string) {
    this.reason = reason;
  }

  async start(): Promise<void> {
    const db = this.database.handle;
    this.runs = new AgentRunRepository(db);
    const snapshots = new ConfigSnapshotRepository(db);
    const now = this.clock();
    this.started = now;
    this.id = db.transaction(() => {
      const configHash = snapshots.record(this.config, now);
      return this.runs!.begin({ startedAt: now, agentVersion: this.agentVersion, hostname: hostname(), pid: process.pid, configHash });
    })();
    this.previous = this.runs.before(this.id, 1)[0];
    if (this.previousRunStoppedCleanly === false) {
      this.log.warn(
        { previousRunId: this.previous!.id, previousStartedAt: new Date(this.previous!.startedAt).toISOString(), stopReason: this.previous!.stopReason },
        'previous run did not stop cleanly (crash, kill or power loss)',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.id === undefined || !this.runs) return;
    this.runs.finish(this.id, this.clock(), this.reason);
    this.runs = undefined;
  }
}
