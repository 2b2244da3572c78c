/**
 * "Goes well with": association rules X → Y mined from the store's own receipts. Only pairs:
 * a shelf screen shows what goes with one product a shopper just took, and pair counts stay
 * small enough to mine a month of receipts on the box in milliseconds.
 *
 *   support(X→Y)    = baskets with X and Y / baskets
 *   confidence(X→Y) = baskets with X and Y / baskets with X
 *   lift(X→Y)       = confidence / (baskets with Y / baskets)   (1: independent)
 */
export interface AssociationRule {
  from: string;
  to: string;
  /** Baskets holding both. */
  count: number;
  support: number;
  confidence: number;
  lift: number;
}

export interface RuleThresholds {
  minSupport: number;
  minConfidence: number;
  minLift: number;
  /** Fewer baskets than this: too little evidence for any rule. */
  minBaskets: number;
}

export class CoPurchaseModel {
  private readonly byFrom = new Map<string, AssociationRule[]>();

  private constructor(
    readonly baskets: number,
    private readonly counts: ReadonlyMap<string, number>,
    rules: AssociationRule[],
  ) {
    for (const r of rules) {
      let list = this.byFrom.get(r.from);
      if (!list) this.byFrom.set(r.from, (list = []));
      list.push(r);
    }
    for (const list of this.byFrom.values()) list.sort((a, b) => b.lift - a.lift || b.confidence - a.confidence || (a.to < b.to ? -1 : 1));
  }

  static empty(): CoPurchaseModel {
    return new CoPurchaseModel(0, new Map(), []);
  }

  /** Each basket is the products of one receipt (repeats inside a basket count once). */
  static mine(baskets: Iterable<readonly string[]>, t: RuleThresholds): CoPurchaseModel {
    const single = new Map<string, number>();
    const pairs = new Map<string, number>();
    let n = 0;
    for (const basket of baskets) {
      const items = [...new Set(basket)].sort();
      if (items.length === 0) continue;
      n += 1;
      for (let i = 0; i < items.length; i++) {
        single.set(items[i]!, (single.get(items[i]!) ?? 0) + 1);
        for (let j = i + 1; j < items.length; j++) {
          const key = `${items[i]}\u0000${items[j]}`;
          pairs.set(key, (pairs.get(key) ?? 0) + 1);
        }
      }
    }
    const rules: AssociationRule[] = [];
    if (n >= t.minBaskets) {
      for (const [key, both] of pairs) {
        const support = both / n;
        if (support < t.minSupport) continue;
        const [a, b] = key.split('\u0000') as [string, string];
        for (const [from, to] of [
          [a, b],
          [b, a],
        ] as const) {
          const confidence = both / single.get(from)!;
          const lift = confidence / (single.get(to)! / n);
          if (confidence >= t.minConfidence && lift >= t.minLift) rules.push({ from, to, count: both, support, confidence, lift });
        }
      }
    }
    return new CoPurchaseModel(n, single, rules);
  }

  /** Rules from a product, strongest association first. */
  rulesFrom(product: string): readonly AssociationRule[] {
    return this.byFrom.get(product) ?? [];
  }

  get ruleCount(): number {
    let n = 0;
    for (const list of this.byFrom.values()) n += list.length;
    return n;
  }

  /** Baskets holding the product. */
  basketsWith(product: string): number {
    return this.counts.get(product) ?? 0;
  }

  /** Of the given products, the most often bought first (ties by id, so screens are stable). */
  byPopularity(products: Iterable<string>): string[] {
    return [...products].sort((a, b) => this.basketsWith(b) - this.basketsWith(a) || (a < b ? -1 : a > b ? 1 : 0));
  }
}
