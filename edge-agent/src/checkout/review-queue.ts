/**
 * The staff review queue: what the agent was not sure enough to bill, and what staff decided.
 * Deciding an item changes the receipt it belongs to; once a receipt has no undecided item left,
 * its new revision is written and announced as `receipt.adjusted` in the same transaction, with an
 * idempotency key naming the revision, so an adjustment is sent once and never lost.
 */
import type { Database } from 'better-sqlite3';
import type { ProductConfig, StoreConfig } from '../../../device-config/schema.js';
import type { ReceiptAdjustedPayload, ReceiptCreatedPayload, ReceiptLinePayload } from '../../../sync/receipt-payloads.js';
import { OutboxRepository } from '../db/repositories/outbox.js';
import { ReceiptRepository, type ReviewDecision, type ReviewItem, type StoredReceipt } from '../db/repositories/receipts.js';

export class ReviewError extends Error {}

export interface Decision {
  decision: ReviewDecision;
  /** For 'change': the product and units that were really taken (really put back, for a late put-back). */
  product?: string;
  quantity?: number;
  by: string;
}

export interface DecisionOutcome {
  item: ReviewItem;
  /** The receipt's new revision, when this decision completed its review. */
  adjusted?: StoredReceipt;
}

export class ReviewQueue {
  readonly receipts: ReceiptRepository;
  private readonly outbox: OutboxRepository;
  private readonly products: Map<string, ProductConfig>;

  constructor(
    private readonly db: Database,
    private readonly config: StoreConfig,
  ) {
    this.receipts = new ReceiptRepository(db);
    this.outbox = new OutboxRepository(db);
    this.products = new Map(config.planogram.products.map((p) => [p.id, p]));
  }

  open(): ReviewItem[] {
    return this.receipts.reviewQueue({ open: true });
  }

  /** Decides one item; throws ReviewError for an unknown, decided or malformed decision. */
  decide(id: number, d: Decision, at: number): DecisionOutcome {
    return this.db.transaction(() => {
      const item = this.receipts.reviewItem(id);
      if (!item) throw new ReviewError(`no review item ${id}`);
      if (item.decidedAt !== null) throw new ReviewError(`review item ${id} was already decided (${item.decision} by ${item.decidedBy})`);
      let product: string | null = null;
      let quantity: number | null = null;
      if (d.decision === 'change') {
        product = d.product ?? item.product;
        quantity = d.quantity ?? item.quantity;
        if (!product || !this.products.has(product)) throw new ReviewError(`review item ${id}: ${product ?? '(no product)'} is not in the planogram`);
        if (!Number.isInteger(quantity) || quantity < 0) throw new ReviewError(`review item ${id}: quantity must be a whole number ≥ 0`);
      } else if (d.decision === 'accept') {
        product = item.product;
        // Units, always: a late put-back proposes a refund of this many (its quantity is negative).
        quantity = Math.abs(item.quantity);
        if (product === null) throw new ReviewError(`review item ${id} proposes no product: decide it with a change (product and quantity)`);
      }
      this.receipts.decide(id, d.decision, product, quantity, d.by, at);
      const decided = this.receipts.reviewItem(id)!;
      // No receipt (yet, or any more: retention keeps undecided items longer than receipts).
      const receipt = decided.receiptId === null ? undefined : this.receipts.get(decided.receiptId);
      if (!receipt) return { item: decided };
      const pending = this.receipts.reviewsOf(receipt.id).filter((r) => r.decidedAt === null);
      if (pending.length > 0) return { item: decided };
      return { item: decided, adjusted: this.applyDecisions(receipt, d.by === 'rfid-exit-policy' ? 'exit tag' : 'staff review', at) };
    })();
  }

  /**
   * Takes in the decisions made before the receipt existed (staff decided while the shopper was
   * still inside) when nothing else on it waits: the receipt's next revision, or undefined.
   */
  applyDecided(receiptId: number, at: number): StoredReceipt | undefined {
    const items = this.receipts.reviewsOf(receiptId);
    if (items.some((r) => r.decidedAt === null) || !items.some((r) => r.decidedAt !== null && r.appliedRevision === null)) return undefined;
    return this.applyDecisions(this.receipts.get(receiptId)!, 'staff review', at);
  }

  /** The receipt's lines after every decided item of its review, as a new revision. */
  private applyDecisions(receipt: StoredReceipt, reason: string, at: number): StoredReceipt {
    const items = this.receipts.reviewsOf(receipt.id).filter((r) => r.decidedAt !== null && r.appliedRevision === null);
    const previousTotal = receipt.total;
    const revision = receipt.revision + 1;
    // In the order they were raised (reviewsOf is by id), each on the receipt as the one before left it.
    for (const item of items) {
      this.receipts.applied(item.id, revision);
      this.applyItem(receipt.id, item);
    }
    const lines = this.receipts.get(receipt.id)!.lines;
    const total = lines.filter((l) => l.status === 'billed').reduce((s, l) => s + l.quantity * l.unitPrice, 0);
    this.receipts.adjust(receipt.id, total, 'reviewed', revision, at);
    const adjusted = this.receipts.get(receipt.id)!;
    const payload: ReceiptAdjustedPayload = { ...receiptPayload(this.config, adjusted, 0), reason, previousTotal };
    this.outbox.add('receipt.adjusted', payload, at);
    return adjusted;
  }

  private applyItem(receiptId: number, item: ReviewItem): void {
    const lines = this.receipts.get(receiptId)!.lines;
    // A doubtful line of the receipt is its item's own: the one line of that product written for review.
    const own = LINE_KINDS.has(item.kind) && item.product !== null ? lines.find((l) => l.product === item.product && l.status === 'review') : undefined;
    const product = item.decidedProduct;
    const quantity = item.decidedQuantity ?? 0;
    if (own) {
      if (item.decision === 'reject' || product === null) this.receipts.setLine(own.id, 'rejected', own.quantity);
      else if (product === own.product) this.receipts.setLine(own.id, quantity > 0 ? 'billed' : 'rejected', quantity);
      else {
        this.receipts.setLine(own.id, 'rejected', own.quantity);
        this.addUnits(receiptId, product, quantity);
      }
      return;
    }
    // Anything else changes the bill by units: a late pick or an exit tag adds, a late put-back refunds.
    if (item.decision === 'reject' || product === null) return;
    this.addUnits(receiptId, product, item.quantity < 0 ? -quantity : quantity);
  }

  private addUnits(receiptId: number, product: string, delta: number): void {
    if (delta === 0) return;
    const receipt = this.receipts.get(receiptId)!;
    const billed = receipt.lines.find((l) => l.product === product && l.status === 'billed');
    if (billed) this.receipts.setLine(billed.id, 'billed', Math.max(0, billed.quantity + delta));
    else if (delta > 0) {
      const p = this.products.get(product)!;
      this.receipts.addLine(receiptId, { product, name: p.name, quantity: delta, unitPrice: p.price, total: p.price * delta, confidence: 1, status: 'billed', cartLines: [] }, receipt.closedAt);
    }
  }
}

/** Review kinds that stand for a line of the receipt (the rest add or take away units). */
const LINE_KINDS: ReadonlySet<ReviewItem['kind']> = new Set(['uncertain-line', 'abandoned']);

/** The message body of a receipt revision: billed lines only. */
export function receiptPayload(config: StoreConfig, r: StoredReceipt, pendingReview: number): ReceiptCreatedPayload {
  const lines: ReceiptLinePayload[] = r.lines
    .filter((l) => l.status === 'billed' && l.quantity > 0)
    .map((l) => ({ product: l.product, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice, total: l.quantity * l.unitPrice, confidence: Math.round(l.confidence * 1000) / 1000 }));
  return {
    v: 1,
    idempotencyKey: `${config.store.id}:receipt:${r.id}:r${r.revision}`,
    storeId: config.store.id,
    receiptId: r.id,
    revision: r.revision,
    sessionId: r.sessionId,
    token: r.token,
    closedAt: new Date(r.closedAt).toISOString(),
    currency: r.currency,
    lines,
    total: r.total,
    pendingReview,
  };
}
