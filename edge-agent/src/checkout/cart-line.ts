/**
 * One line of a session's cart ledger: units added (a pick, a tag leaving with the shopper) or
 * removed (a put-back), with the evidence that explains it. Lines are never changed; the live cart
 * is their sum per product.
 */
export type CartLineSource = 'weight' | 'rfid';

export interface CartLine {
  id: number;
  sessionId: number;
  product: string;
  /** Units added (positive) or put back (negative). */
  quantity: number;
  source: CartLineSource;
  weightEventId: number | null;
  tagPassageId: number | null;
  deltaGrams: number | null;
  productProbability: number;
  associationProbability: number;
  distanceM: number | null;
  /** Probability that this line is right: who and what together. */
  confidence: number;
  evidence: Record<string, unknown>;
  at: number;
}

export type NewCartLine = Omit<CartLine, 'id'>;

/** Units per product from a ledger, in the order products first appeared. */
export function liveCart(lines: readonly Pick<CartLine, 'product' | 'quantity'>[]): Map<string, number> {
  const cart = new Map<string, number>();
  for (const l of lines) cart.set(l.product, (cart.get(l.product) ?? 0) + l.quantity);
  return cart;
}
