import { describe, expect, it } from 'vitest';
import { scoreReceipts, type ProducedReceipt, type TrueReceipt } from '../../edge-agent/src/checkout/receipt-scoring.js';

const truth = (token: string, lines: Record<string, number>): TrueReceipt => ({ token, lines: Object.entries(lines).map(([product, count]) => ({ product, count })) });

let nextId = 1;
const receipt = (token: string, billed: Record<string, number>, review: Record<string, number> = {}): ProducedReceipt => ({
  id: nextId++,
  token,
  lines: [
    ...Object.entries(billed).map(([product, quantity]) => ({ product, quantity, status: 'billed' })),
    ...Object.entries(review).map(([product, quantity]) => ({ product, quantity, status: 'review' })),
  ],
});

const score = (t: TrueReceipt[], p: ProducedReceipt[], extra: { openReviewItems?: number; latencies?: number[] } = {}) =>
  scoreReceipts({ truth: t, produced: p, openReviewItems: extra.openReviewItems ?? 0, latencies: extra.latencies ?? [] });

describe('scoreReceipts', () => {
  it('scores a perfect bill 1 everywhere', () => {
    const s = score([truth('a', { cola: 2, gum: 1 })], [receipt('a', { cola: 2, gum: 1 })]);
    expect(s.perToken).toEqual([
      { token: 'a', receipts: 1, trueUnits: 3, billedUnits: 3, matchedUnits: 3, precision: 1, recall: 1, f1: 1, missing: {}, extra: {}, reviewLines: 0 },
    ]);
    expect(s.macroF1).toBe(1);
    expect(s.micro).toEqual({ precision: 1, recall: 1, f1: 1, trueUnits: 3, billedUnits: 3, matchedUnits: 3 });
    expect(s.tokensWithoutReceipt).toEqual([]);
    expect(s.spurious).toEqual([]);
  });

  it('counts a missed unit against recall only', () => {
    const [row] = score([truth('a', { cola: 2, gum: 1 })], [receipt('a', { cola: 1, gum: 1 })]).perToken;
    expect(row).toMatchObject({ matchedUnits: 2, precision: 1, recall: 0.6667, f1: 0.8, missing: { cola: 1 }, extra: {} });
  });

  it('counts an extra unit against precision only', () => {
    const [row] = score([truth('a', { cola: 2 })], [receipt('a', { cola: 3 })]).perToken;
    expect(row).toMatchObject({ matchedUnits: 2, precision: 0.6667, recall: 1, f1: 0.8, missing: {}, extra: { cola: 1 } });
  });

  it('counts a wrong product as one missed and one extra', () => {
    const [row] = score([truth('a', { cola: 1, gum: 1 })], [receipt('a', { cola: 1, mints: 1 })]).perToken;
    expect(row).toMatchObject({ matchedUnits: 1, precision: 0.5, recall: 0.5, f1: 0.5, missing: { gum: 1 }, extra: { mints: 1 } });
  });

  it('scores nothing taken and nothing billed as right', () => {
    const s = score([truth('a', {})], [receipt('a', {})]);
    expect(s.perToken[0]).toMatchObject({ trueUnits: 0, billedUnits: 0, precision: 1, recall: 1, f1: 1 });
    expect(s.micro).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });

  it('misses every unit of a token without a receipt', () => {
    const s = score([truth('a', { cola: 2 }), truth('b', { gum: 2 })], [receipt('a', { cola: 2 })]);
    expect(s.tokensWithoutReceipt).toEqual(['b']);
    expect(s.perToken[1]).toMatchObject({ token: 'b', receipts: 0, precision: 0, recall: 0, f1: 0, missing: { gum: 2 } });
    expect(s.macroF1).toBe(0.5);
    expect(s.micro).toEqual({ precision: 1, recall: 0.5, f1: 0.6667, trueUnits: 4, billedUnits: 2, matchedUnits: 2 });
  });

  it('reports a receipt for an unknown token as spurious and its units as wrong', () => {
    const spuriousReceipt = receipt('ghost', { cola: 1, gum: 1 });
    const s = score([truth('a', { cola: 2 })], [receipt('a', { cola: 2 }), spuriousReceipt]);
    expect(s.spurious).toEqual([{ receiptId: spuriousReceipt.id, token: 'ghost', billedUnits: 2 }]);
    expect(s.tokens).toBe(1);
    expect(s.receipts).toBe(2);
    expect(s.macroF1).toBe(1);
    expect(s.micro).toEqual({ precision: 0.5, recall: 1, f1: 0.6667, trueUnits: 2, billedUnits: 4, matchedUnits: 2 });
  });

  it('leaves lines in review off the bill, and tells whether accepting them would be right', () => {
    const s = score(
      [truth('a', { cola: 2, gum: 1 }), truth('b', { cola: 1 })],
      [receipt('a', { cola: 2 }, { gum: 1 }), receipt('b', { cola: 1 }, { gum: 1 })],
      { openReviewItems: 2 },
    );
    expect(s.perToken[0]).toMatchObject({ billedUnits: 2, matchedUnits: 2, precision: 1, recall: 0.6667, f1: 0.8, missing: { gum: 1 }, reviewLines: 1 });
    expect(s.perToken[1]).toMatchObject({ billedUnits: 1, f1: 1, reviewLines: 1 });
    expect(s.lines).toBe(4);
    expect(s.reviewLines).toBe(2);
    expect(s.reviewShare).toBe(0.5);
    expect(s.openReviewItems).toBe(2);
    expect(s.receiptsWithReview).toBe(2);
    expect(s.rightIfReviewAccepted).toBe(1);
  });

  it('adds up the receipts of a token split over two sessions', () => {
    const s = score([truth('a', { cola: 2 })], [receipt('a', { cola: 1 }), receipt('a', { cola: 1 })]);
    expect(s.perToken[0]).toMatchObject({ receipts: 2, billedUnits: 2, f1: 1 });
    expect(s.tokensWithSeveralReceipts).toEqual(['a']);
  });

  it('has no review share or latency when nothing was written', () => {
    const s = score([truth('a', { cola: 1 })], []);
    expect(s.reviewShare).toBeNull();
    expect(s.receiptLatencyMs).toBeNull();
    expect(s.micro).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('takes the latency quantiles of the measured figures', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(score([], [], { latencies }).receiptLatencyMs).toEqual({ p50: 51, p95: 96 });
  });
});
