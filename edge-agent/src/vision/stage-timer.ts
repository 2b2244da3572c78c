const RING = 256;

/** Recent durations of one pipeline stage, for health and benchmarks; no allocation per sample. */
export class StageTimer {
  private readonly samples = new Float64Array(RING);
  private readonly sorted = new Float64Array(RING);
  private count = 0;
  private total = 0;
  totalMs = 0;

  add(ms: number): void {
    this.samples[this.count % RING] = ms;
    this.count++;
    this.total++;
    this.totalMs += ms;
  }

  /** Samples ever added. */
  get n(): number {
    return this.total;
  }

  /** Mean over every sample ever added. */
  get meanMs(): number {
    return this.total === 0 ? 0 : this.totalMs / this.total;
  }

  /** Quantile over the recent window. */
  quantile(q: number): number {
    const n = Math.min(this.count, RING);
    if (n === 0) return 0;
    this.sorted.set(this.samples.subarray(0, n));
    const view = this.sorted.subarray(0, n).sort();
    return view[Math.min(n - 1, Math.floor(q * n))]!;
  }

  summary(): { n: number; meanMs: number; p50Ms: number; p95Ms: number } {
    const r = (v: number) => Math.round(v * 1000) / 1000;
    return { n: this.total, meanMs: r(this.meanMs), p50Ms: r(this.quantile(0.5)), p95Ms: r(this.quantile(0.95)) };
  }

  reset(): void {
    this.count = 0;
    this.total = 0;
    this.totalMs = 0;
  }
}
