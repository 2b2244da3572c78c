import type { Database, Statement } from 'better-sqlite3';
import type { NewWeightEvent, WeightEvent } from '../../shelf/weight-event.js';

interface Row {
  id: number;
  shelf: string;
  plates: string;
  t_start: number;
  t_end: number;
  delta_grams: number;
  per_plate: string;
  noise_sigma: number;
  kind: 'pick' | 'return';
  candidates: string;
  flags: string;
}

const fromRow = (r: Row): WeightEvent => ({
  id: r.id,
  shelf: r.shelf,
  plates: JSON.parse(r.plates) as string[],
  tStart: r.t_start,
  tEnd: r.t_end,
  deltaGrams: r.delta_grams,
  perPlate: JSON.parse(r.per_plate) as Record<string, number>,
  noiseSigma: r.noise_sigma,
  kind: r.kind,
  candidates: JSON.parse(r.candidates) as WeightEvent['candidates'],
  flags: JSON.parse(r.flags) as string[],
});

export class WeightEventRepository {
  private readonly insert: Statement;
  private readonly range: Statement;
  private readonly everything: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(`
      INSERT INTO weight_events (shelf, plates, t_start, t_end, delta_grams, per_plate, noise_sigma, kind, candidates, top_product, top_count, confidence, flags)
      VALUES (@shelf, @plates, @tStart, @tEnd, @deltaGrams, @perPlate, @noiseSigma, @kind, @candidates, @topProduct, @topCount, @confidence, @flags)`);
    this.range = db.prepare('SELECT * FROM weight_events WHERE t_end >= ? AND t_end < ? ORDER BY id');
    this.everything = db.prepare('SELECT * FROM weight_events ORDER BY id');
  }

  record(event: NewWeightEvent): WeightEvent {
    const top = event.candidates[0];
    const id = Number(
      this.insert.run({
        shelf: event.shelf,
        plates: JSON.stringify(event.plates),
        tStart: Math.round(event.tStart),
        tEnd: Math.round(event.tEnd),
        deltaGrams: event.deltaGrams,
        perPlate: JSON.stringify(event.perPlate),
        noiseSigma: event.noiseSigma,
        kind: event.kind,
        candidates: JSON.stringify(event.candidates),
        topProduct: top?.product ?? null,
        topCount: top?.count ?? 0,
        confidence: top?.probability ?? 0,
        flags: JSON.stringify(event.flags),
      }).lastInsertRowid,
    );
    return { ...event, tStart: Math.round(event.tStart), tEnd: Math.round(event.tEnd), id };
  }

  all(): WeightEvent[] {
    return (this.everything.all() as Row[]).map(fromRow);
  }

  between(from: number, to: number): WeightEvent[] {
    return (this.range.all(from, to) as Row[]).map(fromRow);
  }
}
