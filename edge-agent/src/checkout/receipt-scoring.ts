/**
 * Scores the receipts the agent wrote against the simulator's true receipts, the way the
 * AutoCheckout competition scored its receipts: per paying token, the units billed that were
 * really taken (per product, the smaller of billed and true) against all units billed (precision)
 * and all units taken (recall). Only billed lines count — a line waiting in review is not on the
 * bill — but how much went to review, and whether accepting it would have been right, is
 * reported beside the score, since a review queue trades staff time for precision.
 */
import { quantile, round3, round4 } from '../numbers.js';

/** A true receipt, as far as scoring needs it (a `TruthReceipt` is one). */
export interface TrueReceipt {
  token: string;
  lines: readonly { product: string; count: number }[];
}

/** A receipt the agent wrote, with its lines ('billed', 'review', or struck off by staff). */
export interface ProducedReceipt {
  id: number;
  token: string;
  lines: readonly { product: string; quantity: number; status: string }[];
}

export interface ReceiptScoreInputs {
  truth: readonly TrueReceipt[];
  produced: readonly ProducedReceipt[];
  /** Review items not decided yet. */
  openReviewItems: number;
  /** Time to write each receipt, ms, as the checkout service measured it. */
  latencies: readonly number[];
}

export interface TokenScore {
  token: string;
  /** Receipts the agent wrote for the token (0: none — every true unit is missed). */
  receipts: number;
  trueUnits: number;
  billedUnits: number;
  /** Σ over products of min(billed, true). */
  matchedUnits: number;
  precision: number;
  recall: number;
  f1: number;
  /** Units per product taken but not billed, and billed but not taken. */
  missing: Record<string, number>;
  extra: Record<string, number>;
  /** Lines of the token's receipts waiting in review. */
  reviewLines: number;
}

export interface SpuriousReceipt {
  receiptId: number;
  token: string;
  billedUnits: number;
}

export interface ReceiptScore {
  /** Paying tokens of the truth, each scored. */
  tokens: number;
  perToken: TokenScore[];
  /** Mean of the tokens' F1. */
  macroF1: number;
  /** Over all units of all tokens; units billed on spurious receipts count as wrong. */
  micro: { precision: number; recall: number; f1: number; trueUnits: number; billedUnits: number; matchedUnits: number };
  receipts: number;
  /** True tokens the agent wrote no receipt for. */
  tokensWithoutReceipt: string[];
  /** Receipts for a token no true receipt has. */
  spurious: SpuriousReceipt[];
  /** Tokens with more than one receipt (one per session; a party split into two sessions). */
  tokensWithSeveralReceipts: string[];
  lines: number;
  reviewLines: number;
  /** reviewLines / lines; null when no line was written. */
  reviewShare: number | null;
  openReviewItems: number;
  /** Receipts of true tokens with lines in review, and those of them that would be right if staff accepted every line as it stands. */
  receiptsWithReview: number;
  rightIfReviewAccepted: number;
  receiptLatencyMs: { p50: number; p95: number } | null;
}

type Units = Map<string, number>;

export function scoreReceipts(inputs: ReceiptScoreInputs): ReceiptScore {
  const truthByToken = new Map<string, Units>();
  for (const r of inputs.truth) {
    const units = truthByToken.get(r.token) ?? new Map<string, number>();
    for (const l of r.lines) add(units, l.product, l.count);
    truthByToken.set(r.token, units);
  }
  const producedByToken = new Map<string, ProducedReceipt[]>();
  for (const r of inputs.produced) producedByToken.set(r.token, [...(producedByToken.get(r.token) ?? []), r]);

  const perToken: TokenScore[] = [];
  let trueUnits = 0;
  let billedUnits = 0;
  let matchedUnits = 0;
  let receiptsWithReview = 0;
  let rightIfReviewAccepted = 0;
  let f1Sum = 0;
  for (const [token, truth] of truthByToken) {
    const receipts = producedByToken.get(token) ?? [];
    const billed = unitsOf(receipts, (status) => status === 'billed');
    const { row, f1 } = compare(token, truth, billed);
    row.receipts = receipts.length;
    row.reviewLines = receipts.reduce((n, r) => n + r.lines.filter((l) => l.status === 'review').length, 0);
    perToken.push(row);
    f1Sum += f1;
    trueUnits += row.trueUnits;
    billedUnits += row.billedUnits;
    matchedUnits += row.matchedUnits;
    for (const r of receipts) {
      if (!r.lines.some((l) => l.status === 'review')) continue;
      receiptsWithReview += 1;
      // A party with two receipts is judged on both: the accepted one is right if the token's bill then is.
      const accepted = unitsOf(receipts, (status) => status === 'billed' || status === 'review');
      if (sameUnits(accepted, truth)) rightIfReviewAccepted += 1;
    }
  }
  const spurious: SpuriousReceipt[] = [];
  for (const r of inputs.produced) {
    if (truthByToken.has(r.token)) continue;
    const units = sum(unitsOf([r], (status) => status === 'billed'));
    spurious.push({ receiptId: r.id, token: r.token, billedUnits: units });
    billedUnits += units;
  }
  const lines = inputs.produced.reduce((n, r) => n + r.lines.length, 0);
  const reviewLines = inputs.produced.reduce((n, r) => n + r.lines.filter((l) => l.status === 'review').length, 0);
  const micro = rounded(ratios(matchedUnits, billedUnits, trueUnits));
  return {
    tokens: perToken.length,
    perToken,
    macroF1: perToken.length > 0 ? round4(f1Sum / perToken.length) : 0,
    micro: { ...micro, trueUnits, billedUnits, matchedUnits },
    receipts: inputs.produced.length,
    tokensWithoutReceipt: perToken.filter((t) => t.receipts === 0).map((t) => t.token),
    spurious,
    tokensWithSeveralReceipts: [...producedByToken].filter(([, rs]) => rs.length > 1).map(([token]) => token),
    lines,
    reviewLines,
    reviewShare: lines > 0 ? round4(reviewLines / lines) : null,
    openReviewItems: inputs.openReviewItems,
    receiptsWithReview,
    rightIfReviewAccepted,
    receiptLatencyMs: inputs.latencies.length > 0 ? { p50: round3(quantile(inputs.latencies, 0.5)), p95: round3(quantile(inputs.latencies, 0.95)) } : null,
  };
}

/** One token's bill against its truth, and its F1 before rounding (for the mean). */
function compare(token: string, truth: Units, billed: Units): { row: TokenScore; f1: number } {
  const missing: Record<string, number> = {};
  const extra: Record<string, number> = {};
  let matched = 0;
  for (const product of new Set([...truth.keys(), ...billed.keys()])) {
    const t = truth.get(product) ?? 0;
    const b = billed.get(product) ?? 0;
    matched += Math.min(t, b);
    if (t > b) missing[product] = t - b;
    if (b > t) extra[product] = b - t;
  }
  const trueUnits = sum(truth);
  const billedUnits = sum(billed);
  const r = ratios(matched, billedUnits, trueUnits);
  return { row: { token, receipts: 0, trueUnits, billedUnits, matchedUnits: matched, ...rounded(r), missing, extra, reviewLines: 0 }, f1: r.f1 };
}

/**
 * Precision and recall are 1 when nothing was taken and nothing billed; otherwise a side with no
 * units scores 0 (nothing billed is no precision to speak of, and the bill is wrong anyway).
 */
function ratios(matched: number, billed: number, truth: number): { precision: number; recall: number; f1: number } {
  if (billed === 0 && truth === 0) return { precision: 1, recall: 1, f1: 1 };
  const precision = billed > 0 ? matched / billed : 0;
  const recall = truth > 0 ? matched / truth : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

function rounded(r: { precision: number; recall: number; f1: number }): { precision: number; recall: number; f1: number } {
  return { precision: round4(r.precision), recall: round4(r.recall), f1: round4(r.f1) };
}

/** Units per product on the lines whose status is kept; net quantities of zero or less drop out. */
function unitsOf(receipts: readonly ProducedReceipt[], keep: (status: string) => boolean): Units {
  const units: Units = new Map();
  for (const r of receipts) for (const l of r.lines) if (keep(l.status)) add(units, l.product, l.quantity);
  for (const [product, n] of units) if (n <= 0) units.delete(product);
  return units;
}

function add(units: Units, product: string, n: number): void {
  units.set(product, (units.get(product) ?? 0) + n);
}

function sum(units: Units): number {
  let n = 0;
  for (const v of units.values()) n += v;
  return n;
}

function sameUnits(a: Units, b: Units): boolean {
  const positive = (u: Units) => [...u].filter(([, n]) => n > 0);
  const pa = positive(a);
  return pa.length === positive(b).length && pa.every(([p, n]) => b.get(p) === n);
}
