/**
 * Turns a session's cart ledger into a receipt: the net units per product, priced from the
 * planogram. A product is billed only when every ledger line behind it is confident enough; a
 * product with any doubtful line goes to staff review instead of being guessed, with what the
 * ledger says as the proposal. A doubtful put-back that nets to nothing is reviewed too, since the
 * shopper may have kept the item.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import type { CartLine } from './cart-line.js';
import { round3 } from '../numbers.js';

export interface DraftReceiptLine {
  product: string;
  name: string;
  quantity: number;
  unitPrice: number;
  total: number;
  confidence: number;
  status: 'billed' | 'review';
  cartLines: number[];
}

export interface DraftReviewItem {
  kind: ReviewKind;
  product: string | null;
  quantity: number;
  confidence: number;
  reason: string;
  evidence: Record<string, unknown>;
}

export type ReviewKind = 'uncertain-line' | 'uncertain-return' | 'unknown-item' | 'unattributed' | 'exit-tag' | 'late-event' | 'abandoned';

export interface DraftReceipt {
  lines: DraftReceiptLine[];
  review: DraftReviewItem[];
  /** Billed lines only. */
  total: number;
  /** The least confident line's confidence (1 for an empty cart). */
  confidence: number;
}

export function buildReceipt(ledger: readonly CartLine[], products: ReadonlyMap<string, ProductConfig>, reviewBelow: number, options: { abandoned?: boolean } = {}): DraftReceipt {
  const byProduct = new Map<string, CartLine[]>();
  for (const l of ledger) {
    const list = byProduct.get(l.product);
    if (list) list.push(l);
    else byProduct.set(l.product, [l]);
  }
  const lines: DraftReceiptLine[] = [];
  const review: DraftReviewItem[] = [];
  let total = 0;
  let confidence = 1;
  for (const [product, contributing] of byProduct) {
    const net = contributing.reduce((s, l) => s + l.quantity, 0);
    const least = Math.min(...contributing.map((l) => l.confidence));
    const sure = least >= reviewBelow && !options.abandoned;
    const ids = contributing.map((l) => l.id);
    const evidence = { cartLines: ids, confidences: contributing.map((l) => round3(l.confidence)) };
    if (net <= 0) {
      if (!sure) review.push({ kind: 'uncertain-return', product, quantity: 0, confidence: least, reason: `units taken and put back net to ${net}; a line is only ${pct(least)} sure`, evidence });
      continue;
    }
    const p = products.get(product);
    const unitPrice = p?.price ?? 0;
    const line: DraftReceiptLine = { product, name: p?.name ?? product, quantity: net, unitPrice, total: unitPrice * net, confidence: least, status: sure && p !== undefined ? 'billed' : 'review', cartLines: ids };
    lines.push(line);
    confidence = Math.min(confidence, least);
    if (line.status === 'billed') total += line.total;
    else {
      const reason = p === undefined ? `product ${product} is not in the planogram` : options.abandoned ? 'the session was abandoned: every member lost on the floor' : `only ${pct(least)} sure`;
      review.push({ kind: options.abandoned ? 'abandoned' : 'uncertain-line', product, quantity: net, confidence: least, reason, evidence });
    }
  }
  return { lines, review, total, confidence };
}

const pct = (p: number) => `${Math.round(p * 100)} %`;
