import type { Database, Statement } from 'better-sqlite3';

export interface AgentRun {
  id: number;
  startedAt: number;
  stoppedAt: number | null;
  stopReason: string | null;
  agentVersion: string;
  hostname: string;
  pid: number;
  configHash: string | null;
}

interface AgentRunRow {
  id: number;
  started_at: number;
  stopped_at: number | null;
  stop_reason: string | null;
  agent_version: string;
  hostname: string;
  pid: number;
  config_hash: string | null;
}

const fromRow = (r: AgentRunRow): AgentRun => ({
  id: r.id,
  startedAt: r.started_at,
  stoppedAt: r.stopped_at,
  stopReason: r.stop_reason,
  agentVersion: r.agent_version,
  hostname: r.hostname,
  pid: r.pid,
  configHash: r.config_hash,
});

/** Start and stop of every agent process, so a crash shows as a run that never stopped. */
export class AgentRunRepository {
  private readonly insert: Statement;
  private readonly finishRun: Statement;
  private readonly byId: Statement;
  private readonly latest: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(
      'INSERT INTO agent_runs (started_at, agent_version, hostname, pid, config_hash) VALUES (@startedAt, @agentVersion, @hostname, @pid, @configHash)',
    );
    this.finishRun = db.prepare('UPDATE agent_runs SET stopped_at = ?, stop_reason = ? WHERE id = ? AND stopped_at IS NULL');
    this.byId = db.prepare('SELECT * FROM agent_runs WHERE id = ?');
    this.latest = db.prepare('SELECT * FROM agent_runs WHERE id < ? ORDER BY id DESC LIMIT ?');
  }

  begin(run: { startedAt: number; agentVersion: string; hostname: string; pid: number; configHash: string | null }): number {
    return Number(this.insert.run(run).lastInsertRowid);
  }

  finish(id: number, stoppedAt: number, reason: string): boolean {
    return this.finishRun.run(stoppedAt, reason, id).changes === 1;
  }

  get(id: number): AgentRun | undefined {
    const row = this.byId.get(id) as AgentRunRow | undefined;
    return row && fromRow(row);
  }

  /** Runs started before `id`, newest first. */
  before(id: number, limit = 1): AgentRun[] {
    return (this.latest.all(id, limit) as AgentRunRow[]).map(fromRow);
  }
}
