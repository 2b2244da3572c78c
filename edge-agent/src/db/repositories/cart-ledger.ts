import type { Database, Statement } from 'better-sqlite3';
import type { CartLine, NewCartLine } from '../../checkout/cart-line.js';

interface CartLineRow {
  id: number;
  session_id: number;
  product: string;
  quantity: number;
  source: CartLine['source'];
  weight_event_id: number | null;
  tag_passage_id: number | null;
  delta_grams: number | null;
  product_probability: number;
  association_probability: number;
  distance_m: number | null;
  confidence: number;
  evidence: string;
  at: number;
}

const fromRow = (r: CartLineRow): CartLine => ({
  id: r.id,
  sessionId: r.session_id,
  product: r.product,
  quantity: r.quantity,
  source: r.source,
  weightEventId: r.weight_event_id,
  tagPassageId: r.tag_passage_id,
  deltaGrams: r.delta_grams,
  productProbability: r.product_probability,
  associationProbability: r.association_probability,
  distanceM: r.distance_m,
  confidence: r.confidence,
  evidence: JSON.parse(r.evidence) as Record<string, unknown>,
  at: r.at,
});

/** The append-only cart ledger: lines are inserted, never updated. */
export class CartLedgerRepository {
  private readonly insert: Statement;
  private readonly ofSession: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(
      `INSERT INTO cart_lines (session_id, product, quantity, source, weight_event_id, tag_passage_id, delta_grams,
         product_probability, association_probability, distance_m, confidence, evidence, at)
       VALUES (@sessionId, @product, @quantity, @source, @weightEventId, @tagPassageId, @deltaGrams,
         @productProbability, @associationProbability, @distanceM, @confidence, @evidence, @at)`,
    );
    this.ofSession = db.prepare('SELECT * FROM cart_lines WHERE session_id = ? ORDER BY id');
  }

  append(line: NewCartLine): CartLine {
    const stored = { ...line, at: Math.round(line.at) };
    const { lastInsertRowid } = this.insert.run({ ...stored, evidence: JSON.stringify(line.evidence) });
    return { ...stored, id: Number(lastInsertRowid) };
  }

  lines(sessionId: number): CartLine[] {
    return (this.ofSession.all(sessionId) as CartLineRow[]).map(fromRow);
  }
}
