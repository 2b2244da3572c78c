import type { Database, Statement } from 'better-sqlite3';
import type { DraftReceiptLine, DraftReviewItem, ReviewKind } from '../../checkout/receipt-builder.js';

export type ReceiptStatus = 'final' | 'pending-review' | 'reviewed';
export type ReviewDecision = 'accept' | 'reject' | 'change';

export interface StoredReceiptLine extends Omit<DraftReceiptLine, 'status'> {
  id: number;
  /** 'rejected': staff struck it off; 'billed' lines are on the bill. */
  status: DraftReceiptLine['status'] | 'rejected';
}

export interface StoredReceipt {
  id: number;
  sessionId: number;
  token: string;
  currency: string;
  total: number;
  confidence: number;
  status: ReceiptStatus;
  revision: number;
  closedAt: number;
  createdAt: number;
  adjustedAt: number | null;
  lines: StoredReceiptLine[];
}

export interface ReviewItem extends DraftReviewItem {
  id: number;
  receiptId: number | null;
  sessionId: number | null;
  kind: ReviewKind;
  createdAt: number;
  decidedAt: number | null;
  decision: ReviewDecision | null;
  decidedProduct: string | null;
  decidedQuantity: number | null;
  decidedBy: string | null;
  /** The receipt revision that took the decision in. */
  appliedRevision: number | null;
}

interface ReceiptRow {
  id: number;
  session_id: number;
  token: string;
  currency: string;
  total: number;
  confidence: number;
  status: ReceiptStatus;
  revision: number;
  closed_at: number;
  created_at: number;
  adjusted_at: number | null;
}

interface LineRow {
  id: number;
  product: string;
  name: string;
  quantity: number;
  unit_price: number;
  total: number;
  confidence: number;
  status: StoredReceiptLine['status'];
  cart_lines: string;
}

interface ReviewRow {
  id: number;
  receipt_id: number | null;
  session_id: number | null;
  kind: ReviewKind;
  product: string | null;
  quantity: number;
  confidence: number;
  reason: string;
  evidence: string;
  created_at: number;
  decided_at: number | null;
  decision: ReviewDecision | null;
  decided_product: string | null;
  decided_quantity: number | null;
  decided_by: string | null;
  applied_revision: number | null;
}

const lineFromRow = (r: LineRow): StoredReceiptLine => ({
  id: r.id,
  product: r.product,
  name: r.name,
  quantity: r.quantity,
  unitPrice: r.unit_price,
  total: r.total,
  confidence: r.confidence,
  status: r.status,
  cartLines: JSON.parse(r.cart_lines) as number[],
});

const reviewFromRow = (r: ReviewRow): ReviewItem => ({
  id: r.id,
  receiptId: r.receipt_id,
  sessionId: r.session_id,
  kind: r.kind,
  product: r.product,
  quantity: r.quantity,
  confidence: r.confidence,
  reason: r.reason,
  evidence: JSON.parse(r.evidence) as Record<string, unknown>,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  decision: r.decision,
  decidedProduct: r.decided_product,
  decidedQuantity: r.decided_quantity,
  decidedBy: r.decided_by,
  appliedRevision: r.applied_revision,
});

/** Receipts, their lines and the staff review queue. Callers wrap multi-step changes in a transaction. */
export class ReceiptRepository {
  private readonly s: Record<string, Statement>;

  constructor(db: Database) {
    this.s = {
      insertReceipt: db.prepare(
        'INSERT INTO receipts (session_id, token, currency, total, confidence, status, revision, closed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)',
      ),
      insertLine: db.prepare(
        'INSERT INTO receipt_lines (receipt_id, product, name, quantity, unit_price, total, confidence, status, cart_lines, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertReview: db.prepare(
        'INSERT INTO review_items (receipt_id, session_id, kind, product, quantity, confidence, reason, evidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      attachReviews: db.prepare('UPDATE review_items SET receipt_id = ? WHERE session_id = ? AND receipt_id IS NULL'),
      receipt: db.prepare('SELECT * FROM receipts WHERE id = ?'),
      receiptOfSession: db.prepare('SELECT * FROM receipts WHERE session_id = ?'),
      lines: db.prepare('SELECT * FROM receipt_lines WHERE receipt_id = ? ORDER BY id'),
      receiptsBetween: db.prepare('SELECT * FROM receipts WHERE closed_at >= ? AND closed_at < ? ORDER BY id'),
      review: db.prepare('SELECT * FROM review_items WHERE id = ?'),
      reviewOpen: db.prepare('SELECT * FROM review_items WHERE decided_at IS NULL ORDER BY id'),
      reviewAll: db.prepare('SELECT * FROM review_items ORDER BY id'),
      reviewOfReceipt: db.prepare('SELECT * FROM review_items WHERE receipt_id = ? ORDER BY id'),
      decide: db.prepare('UPDATE review_items SET decided_at = ?, decision = ?, decided_product = ?, decided_quantity = ?, decided_by = ? WHERE id = ? AND decided_at IS NULL'),
      setLineStatus: db.prepare('UPDATE receipt_lines SET status = ?, quantity = ?, total = unit_price * ? WHERE id = ?'),
      applied: db.prepare('UPDATE review_items SET applied_revision = ? WHERE id = ?'),
      adjust: db.prepare('UPDATE receipts SET total = ?, status = ?, revision = ?, adjusted_at = ? WHERE id = ?'),
    };
  }

  create(receipt: { sessionId: number; token: string; currency: string; total: number; confidence: number; status: ReceiptStatus; closedAt: number; createdAt: number }, lines: readonly DraftReceiptLine[]): number {
    const closedAt = Math.round(receipt.closedAt);
    const id = Number(
      this.s['insertReceipt']!.run(receipt.sessionId, receipt.token, receipt.currency, receipt.total, receipt.confidence, receipt.status, closedAt, Math.round(receipt.createdAt)).lastInsertRowid,
    );
    for (const l of lines) this.addLine(id, l, closedAt);
    return id;
  }

  addLine(receiptId: number, l: DraftReceiptLine, closedAt: number): number {
    return Number(this.s['insertLine']!.run(receiptId, l.product, l.name, l.quantity, l.unitPrice, l.total, l.confidence, l.status, JSON.stringify(l.cartLines), closedAt).lastInsertRowid);
  }

  addReview(item: DraftReviewItem & { receiptId: number | null; sessionId: number | null }, at: number): number {
    return Number(
      this.s['insertReview']!.run(item.receiptId, item.sessionId, item.kind, item.product, item.quantity, item.confidence, item.reason, JSON.stringify(item.evidence), Math.round(at)).lastInsertRowid,
    );
  }

  /** Review items raised while the session was open now belong to its receipt. */
  attachSessionReviews(sessionId: number, receiptId: number): void {
    this.s['attachReviews']!.run(receiptId, sessionId);
  }

  get(id: number): StoredReceipt | undefined {
    const r = this.s['receipt']!.get(id) as ReceiptRow | undefined;
    return r ? this.withLines(r) : undefined;
  }

  ofSession(sessionId: number): StoredReceipt | undefined {
    const r = this.s['receiptOfSession']!.get(sessionId) as ReceiptRow | undefined;
    return r ? this.withLines(r) : undefined;
  }

  between(from: number, to: number): StoredReceipt[] {
    return (this.s['receiptsBetween']!.all(from, to) as ReceiptRow[]).map((r) => this.withLines(r));
  }

  reviewItem(id: number): ReviewItem | undefined {
    const r = this.s['review']!.get(id) as ReviewRow | undefined;
    return r ? reviewFromRow(r) : undefined;
  }

  reviewQueue(options: { open?: boolean } = {}): ReviewItem[] {
    return ((options.open === false ? this.s['reviewAll'] : this.s['reviewOpen'])!.all() as ReviewRow[]).map(reviewFromRow);
  }

  reviewsOf(receiptId: number): ReviewItem[] {
    return (this.s['reviewOfReceipt']!.all(receiptId) as ReviewRow[]).map(reviewFromRow);
  }

  /** Returns false when the item was already decided. */
  decide(id: number, decision: ReviewDecision, product: string | null, quantity: number | null, by: string, at: number): boolean {
    return this.s['decide']!.run(Math.round(at), decision, product, quantity, by, id).changes === 1;
  }

  setLine(lineId: number, status: StoredReceiptLine['status'], quantity: number): void {
    this.s['setLineStatus']!.run(status, quantity, quantity, lineId);
  }

  applied(reviewId: number, revision: number): void {
    this.s['applied']!.run(revision, reviewId);
  }

  adjust(receiptId: number, total: number, status: ReceiptStatus, revision: number, at: number): void {
    this.s['adjust']!.run(total, status, revision, Math.round(at), receiptId);
  }

  private withLines(r: ReceiptRow): StoredReceipt {
    return {
      id: r.id,
      sessionId: r.session_id,
      token: r.token,
      currency: r.currency,
      total: r.total,
      confidence: r.confidence,
      status: r.status,
      revision: r.revision,
      closedAt: r.closed_at,
      createdAt: r.created_at,
      adjustedAt: r.adjusted_at,
      lines: (this.s['lines']!.all(r.id) as LineRow[]).map(lineFromRow),
    };
  }
}
