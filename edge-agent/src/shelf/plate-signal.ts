/**
 * Running statistics of one plate's readings over a short window, kept in a ring buffer so each
 * sample costs a few arithmetic operations and no allocation.
 */
export class PlateSignal {
  private readonly ring: Float64Array;
  private head = 0;
  private filled = 0;
  private sum = 0;
  private sumSq = 0;
  /** Readings since the window was last refilled from scratch (limits float drift of the sums). */
  private sinceRecompute = 0;

  constructor(readonly window: number) {
    this.ring = new Float64Array(window);
  }

  get full(): boolean {
    return this.filled === this.window;
  }

  get count(): number {
    return this.filled;
  }

  push(value: number): void {
    if (this.filled === this.window) {
      const old = this.ring[this.head]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.filled += 1;
    this.ring[this.head] = value;
    this.sum += value;
    this.sumSq += value * value;
    this.head = (this.head + 1) % this.window;
    if (++this.sinceRecompute >= 4096) this.recompute();
  }

  mean(): number {
    return this.filled === 0 ? NaN : this.sum / this.filled;
  }

  /** Sample standard deviation of the window. */
  std(): number {
    if (this.filled < 2) return 0;
    const m = this.sum / this.filled;
    return Math.sqrt(Math.max(0, (this.sumSq - this.filled * m * m) / (this.filled - 1)));
  }

  /** The value pushed `ago` samples before the newest (0 = newest). */
  at(ago: number): number {
    return this.ring[(this.head - 1 - ago + this.window * 2) % this.window]!;
  }

  clear(): void {
    this.head = 0;
    this.filled = 0;
    this.sum = 0;
    this.sumSq = 0;
  }

  private recompute(): void {
    this.sinceRecompute = 0;
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.filled; i++) {
      const v = this.ring[i]!;
      s += v;
      q += v * v;
    }
    this.sum = s;
    this.sumSq = q;
  }
}
