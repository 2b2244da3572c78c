import type { Database, Statement } from 'better-sqlite3';
import type { GateEvent, GateReading } from '../../devices/gate/gate-event.js';

interface GateEventRow {
  id: number;
  gate: string;
  kind: 'scan' | 'pass';
  token: string | null;
  direction: 'in' | 'out' | null;
  device_ts: number | null;
  at: number;
}

const fromRow = (r: GateEventRow): GateEvent => ({
  id: r.id,
  gate: r.gate,
  kind: r.kind,
  ...(r.token === null ? {} : { token: r.token }),
  ...(r.direction === null ? {} : { direction: r.direction }),
  ...(r.device_ts === null ? {} : { deviceTs: r.device_ts }),
  at: r.at,
});

/** Gate readings as stored facts; times are whole milliseconds. */
export class GateEventRepository {
  private readonly insert: Statement;
  private readonly range: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(
      'INSERT INTO gate_events (gate, kind, token, direction, device_ts, at) VALUES (@gate, @kind, @token, @direction, @deviceTs, @at)',
    );
    this.range = db.prepare('SELECT * FROM gate_events WHERE at >= ? AND at < ? ORDER BY at, id');
  }

  record(reading: GateReading): GateEvent {
    const stored: GateReading = { ...reading, at: Math.round(reading.at) };
    const { lastInsertRowid } = this.insert.run({
      gate: stored.gate,
      kind: stored.kind,
      token: stored.token ?? null,
      direction: stored.direction ?? null,
      deviceTs: stored.deviceTs ?? null,
      at: stored.at,
    });
    return { ...stored, id: Number(lastInsertRowid) };
  }

  /** Events with `from <= at < to`, oldest first. */
  between(from: number, to: number): GateEvent[] {
    return (this.range.all(from, to) as GateEventRow[]).map(fromRow);
  }
}
