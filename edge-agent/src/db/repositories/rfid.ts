import type { Database, Statement } from 'better-sqlite3';
import type { TagObservation, TagPassage } from '../../rfid/rfid-facts.js';

export class TagEventRepository {
  private readonly insert: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(
      'INSERT INTO tag_events (reader, antenna, shelf, epc, gtin, serial, product, kind, rssi, at) VALUES (@reader, @antenna, @shelf, @epc, @gtin, @serial, @product, @kind, @rssi, @at)',
    );
  }

  record(o: TagObservation): number {
    return Number(this.insert.run({ ...o, at: Math.round(o.at), rssi: o.rssi === null || Number.isNaN(o.rssi) ? null : Math.round(o.rssi * 10) / 10 }).lastInsertRowid);
  }
}

export class TagPassageRepository {
  private readonly insert: Statement;
  private readonly billed: Statement;
  private readonly everything: Statement;

  constructor(db: Database) {
    this.everything = db.prepare('SELECT * FROM tag_passages ORDER BY id');
    this.insert = db.prepare(`
      INSERT INTO tag_passages (gate, epc, gtin, serial, product, direction, first_at, last_at, at, confidence, outcome, billable, gate_event_id)
      VALUES (@gate, @epc, @gtin, @serial, @product, @direction, @firstAt, @lastAt, @at, @confidence, @outcome, @billable, @gateEventId)`);
    this.billed = db.prepare('SELECT 1 FROM tag_passages WHERE epc = ? AND billable = 1');
  }

  all(): TagPassage[] {
    return (this.everything.all() as Record<string, unknown>[]).map((r) => ({
      id: r['id'] as number,
      gate: r['gate'] as string,
      epc: r['epc'] as string,
      gtin: r['gtin'] as string | null,
      serial: r['serial'] as string | null,
      product: r['product'] as string | null,
      direction: r['direction'] as TagPassage['direction'],
      firstAt: r['first_at'] as number,
      lastAt: r['last_at'] as number,
      at: r['at'] as number,
      confidence: r['confidence'] as number,
      outcome: r['outcome'] as TagPassage['outcome'],
      billable: r['billable'] === 1,
      gateEventId: r['gate_event_id'] as number | null,
    }));
  }

  wasBilled(epc: string): boolean {
    return this.billed.get(epc) !== undefined;
  }

  record(p: Omit<TagPassage, 'id'>): TagPassage {
    const row = {
      ...p,
      firstAt: Math.round(p.firstAt),
      lastAt: Math.round(p.lastAt),
      at: Math.round(p.at),
      confidence: Math.round(p.confidence * 1000) / 1000,
      billable: p.billable ? 1 : 0,
    };
    const id = Number(this.insert.run(row).lastInsertRowid);
    return { ...p, firstAt: row.firstAt, lastAt: row.lastAt, at: row.at, confidence: row.confidence, id };
  }
}
