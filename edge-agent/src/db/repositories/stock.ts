import type { Database, Statement } from 'better-sqlite3';
import type { StockChange } from '../../stock/stock-book.js';

export interface StoredLevel {
  plate: string;
  product: string;
  units: number;
  zero: number;
  /** Items lying on the plate that belong elsewhere. */
  foreign: { product: string; count: number; grams: number; at: number }[];
  settledAt: number | null;
}

export interface ProductHour {
  product: string;
  sold: number;
  putBack: number;
  restocked: number;
  corrected: number;
}

/** Stock levels, movements and outages. */
export class StockRepository {
  private readonly s: Record<string, Statement>;
  readonly record: (changes: readonly StockChange[], levels: readonly StoredLevel[], at: number) => void;

  constructor(db: Database) {
    this.s = {
      upsert: db.prepare(
        'INSERT INTO stock_levels (plate, product, units, zero, foreign_items, settled_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (plate) DO UPDATE SET product = excluded.product, units = excluded.units, zero = excluded.zero, foreign_items = excluded.foreign_items, settled_at = excluded.settled_at, updated_at = excluded.updated_at',
      ),
      move: db.prepare('INSERT INTO stock_movements (at, plate, product, kind, delta, units, weight_event) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      levels: db.prepare('SELECT plate, product, units, zero, foreign_items AS foreignItems, settled_at AS settledAt FROM stock_levels'),
      openOutage: db.prepare('SELECT id FROM stock_outages WHERE plate = ? AND ended_at IS NULL'),
      startOutage: db.prepare('INSERT INTO stock_outages (plate, product, started_at) VALUES (?, ?, ?)'),
      endOutage: db.prepare('UPDATE stock_outages SET ended_at = ? WHERE plate = ? AND ended_at IS NULL'),
      outagesIn: db.prepare('SELECT plate, product, started_at AS startedAt, ended_at AS endedAt FROM stock_outages WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?)'),
      hour: db.prepare(
        "SELECT product, SUM(CASE WHEN kind = 'sale' THEN -delta ELSE 0 END) AS sold, SUM(CASE WHEN kind = 'put-back' THEN delta ELSE 0 END) AS putBack, SUM(CASE WHEN kind = 'restock' THEN delta ELSE 0 END) AS restocked, SUM(CASE WHEN kind = 'reconcile' THEN delta ELSE 0 END) AS corrected FROM stock_movements WHERE at >= ? AND at < ? AND kind IN ('sale', 'put-back', 'restock', 'reconcile') GROUP BY product ORDER BY product",
      ),
      after: db.prepare("SELECT plate, SUM(delta) AS d FROM stock_movements WHERE at >= ? AND kind NOT IN ('misplaced', 'misplaced-removed') GROUP BY plate"),
    };
    // Movements and the levels they lead to in one transaction: a crash leaves both or neither.
    this.record = db.transaction((changes: readonly StockChange[], levels: readonly StoredLevel[], at: number) => {
      for (const c of changes) this.s['move']!.run(Math.round(c.at), c.plate, c.product, c.kind, c.delta, c.units, c.weightEvent);
      for (const l of levels) this.s['upsert']!.run(l.plate, l.product, l.units, l.zero, JSON.stringify(l.foreign), l.settledAt === null ? null : Math.round(l.settledAt), Math.round(at));
    });
  }

  levels(): StoredLevel[] {
    return (this.s['levels']!.all() as (Omit<StoredLevel, 'foreign'> & { foreignItems: string })[]).map(({ foreignItems, ...r }) => ({ ...r, foreign: JSON.parse(foreignItems) as StoredLevel['foreign'] }));
  }

  /** Opens an outage of the plate unless one is open; closes it with `out` false. */
  outage(plate: string, product: string, out: boolean, at: number): void {
    const open = this.s['openOutage']!.get(plate) !== undefined;
    if (out && !open) this.s['startOutage']!.run(plate, product, Math.round(at));
    else if (!out && open) this.s['endOutage']!.run(Math.round(at), plate);
  }

  outages(from: number, to: number): { plate: string; product: string; startedAt: number; endedAt: number | null }[] {
    return this.s['outagesIn']!.all(to, from) as { plate: string; product: string; startedAt: number; endedAt: number | null }[];
  }

  productHour(from: number, to: number): ProductHour[] {
    return this.s['hour']!.all(from, to) as ProductHour[];
  }

  /** Units moved per plate since `at`: the level at `at` is the current one less these. */
  movedSince(at: number): Map<string, number> {
    return new Map((this.s['after']!.all(at) as { plate: string; d: number }[]).map((r) => [r.plate, r.d]));
  }
}
