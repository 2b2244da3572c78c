/**
 * One shopper's contribution to the heatmap, sampled on a fixed tick grid shared by every
 * shopper (so each counts once per cell per tick however many cameras report it), with gaps
 * between observations filled along the straight line and nothing counted after the last one.
 *
 * Stationary-object filter: a stretch in which the "shopper" stays within a small radius for
 * longer than a limit is a mannequin or a broom that a detector keeps seeing; that stretch is
 * dropped. Ticks are held per stretch until the stretch is decided (at most the limit's worth:
 * beyond it the stretch is known to be still).
 */
import type { FloorGrid } from './floor-grid.js';

export interface StillnessRule {
  radiusM: number;
  maxMs: number;
}

/** hour start → cell → ticks */
export type HourCells = Map<number, Map<number, number>>;

export class ShopperHeat {
  /** Ticks decided to count. */
  readonly counted: HourCells = new Map();
  private readonly stretchHours: number[] = [];
  private readonly stretchCells: number[] = [];
  private anchorX = Number.NaN;
  private anchorY = Number.NaN;
  private stretchStart = Number.NaN;
  private stretchEnd = Number.NaN;
  private nextTick = Number.NaN;
  private lastAt = Number.NaN;
  private lastX = 0;
  private lastY = 0;
  /** Time of the first sampled tick; NaN before. */
  firstTickAt = Number.NaN;
  droppedStillTicks = 0;

  constructor(
    private readonly grid: FloorGrid,
    private readonly tickMs: number,
    private readonly still: StillnessRule,
    private readonly hourOf: (at: number) => number,
  ) {}

  /** True while the current stretch has been still for longer than the limit. */
  get stationary(): boolean {
    return this.stretchEnd - this.stretchStart >= this.still.maxMs;
  }

  /** Start of the current still stretch. */
  get stillSince(): number {
    return this.stretchStart;
  }

  observe(at: number, x: number, y: number): void {
    if (Number.isNaN(this.lastAt)) {
      this.nextTick = Math.ceil(at / this.tickMs);
      this.lastAt = at;
      this.lastX = x;
      this.lastY = y;
    }
    if (at < this.lastAt) return;
    const span = at - this.lastAt;
    for (let k = this.nextTick; k * this.tickMs <= at; k++) {
      const t = k * this.tickMs;
      const f = span > 0 ? (t - this.lastAt) / span : 1;
      this.sample(t, this.lastX + (x - this.lastX) * f, this.lastY + (y - this.lastY) * f);
      this.nextTick = k + 1;
    }
    this.lastAt = at;
    this.lastX = x;
    this.lastY = y;
  }

  /** The track ended: decides the open stretch. */
  finish(): void {
    this.closeStretch();
  }

  private sample(t: number, x: number, y: number): void {
    if (Number.isNaN(this.firstTickAt)) this.firstTickAt = t;
    const dx = x - this.anchorX;
    const dy = y - this.anchorY;
    if (Number.isNaN(this.stretchStart) || dx * dx + dy * dy > this.still.radiusM * this.still.radiusM) {
      this.closeStretch();
      this.anchorX = x;
      this.anchorY = y;
      this.stretchStart = t;
    }
    this.stretchEnd = t;
    if (this.stationary) {
      this.droppedStillTicks += 1 + this.stretchHours.length;
      this.stretchHours.length = 0;
      this.stretchCells.length = 0;
      return;
    }
    this.stretchHours.push(this.hourOf(t));
    this.stretchCells.push(this.grid.cellAt(x, y));
  }

  private closeStretch(): void {
    if (Number.isNaN(this.stretchStart)) return;
    const n = this.stretchHours.length;
    if (this.stationary) this.droppedStillTicks += n;
    else for (let i = 0; i < n; i++) add(this.counted, this.stretchHours[i]!, this.stretchCells[i]!, 1);
    this.stretchHours.length = 0;
    this.stretchCells.length = 0;
    this.stretchStart = Number.NaN;
    this.stretchEnd = Number.NaN;
  }
}

function add(into: HourCells, hour: number, cell: number, n: number): void {
  let cells = into.get(hour);
  if (!cells) {
    cells = new Map();
    into.set(hour, cells);
  }
  cells.set(cell, (cells.get(cell) ?? 0) + n);
}
