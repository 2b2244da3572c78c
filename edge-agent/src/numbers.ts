/** Rounding for reports and stored figures, and the quantile every figure of a spread uses. */
export const round3 = (v: number): number => Math.round(v * 1000) / 1000;
export const round4 = (v: number): number => Math.round(v * 10000) / 10000;

/** The q-quantile of the values: the one at floor(q·n) in ascending order (0 when there are none). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
