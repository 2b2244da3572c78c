/**
 * Walking routes across the floor: A* on a grid of free cells (gondolas and walls grown by a
 * body's half width are blocked), then thinned to the turning points and smoothed by line of
 * sight, so shoppers walk the aisles and never through a shelf.
 */
import type { StoreLayout, Vec2 } from './store-layout.js';

const CELL_M = 0.2;
const BODY_HALF_WIDTH_M = 0.22;

export class FloorPaths {
  private readonly cols: number;
  private readonly rows: number;
  private readonly free: Uint8Array;
  private readonly cache = new Map<string, Vec2[]>();

  constructor(layout: StoreLayout) {
    this.cols = Math.ceil(layout.widthM / CELL_M);
    this.rows = Math.ceil(layout.depthM / CELL_M);
    this.free = new Uint8Array(this.cols * this.rows);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) {
        this.free[r * this.cols + c] = layout.blocked(this.centre(c, r), BODY_HALF_WIDTH_M) ? 0 : 1;
      }
    }
  }

  /** Waypoints from `from` to `to`, both included; a straight line when nothing is in the way. */
  route(from: Vec2, to: Vec2): Vec2[] {
    const key = `${from.x.toFixed(2)},${from.y.toFixed(2)}>${to.x.toFixed(2)},${to.y.toFixed(2)}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const path = this.search(from, to);
    const result = path ? this.smooth([from, ...path, to]) : [from, to];
    this.cache.set(key, result);
    return result;
  }

  /** The nearest free point to `p` (a stand point may fall just inside a grown obstacle). */
  nearestFree(p: Vec2): Vec2 {
    const [c, r] = this.cellOf(p);
    if (this.isFree(c, r)) return p;
    for (let radius = 1; radius < Math.max(this.cols, this.rows); radius++) {
      let best: Vec2 | undefined;
      let bestD = Infinity;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          if (Math.max(Math.abs(dr), Math.abs(dc)) !== radius || !this.isFree(c + dc, r + dr)) continue;
          const q = this.centre(c + dc, r + dr);
          const d = (q.x - p.x) ** 2 + (q.y - p.y) ** 2;
          if (d < bestD) {
            best = q;
            bestD = d;
          }
        }
      }
      if (best) return best;
    }
    return p;
  }

  private search(from: Vec2, to: Vec2): Vec2[] | undefined {
    const [sc, sr] = this.cellOf(this.nearestFree(from));
    const [gc, gr] = this.cellOf(this.nearestFree(to));
    const start = sr * this.cols + sc;
    const goal = gr * this.cols + gc;
    const n = this.cols * this.rows;
    const g = new Float64Array(n).fill(Infinity);
    const came = new Int32Array(n).fill(-1);
    const closed = new Uint8Array(n);
    const open = new MinHeap();
    g[start] = 0;
    open.push(start, this.h(start, goal));
    while (open.size > 0) {
      const cur = open.pop();
      if (cur === goal) break;
      if (closed[cur]) continue;
      closed[cur] = 1;
      const cc = cur % this.cols;
      const cr = (cur - cc) / this.cols;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          if ((dr === 0 && dc === 0) || !this.isFree(cc + dc, cr + dr)) continue;
          // No corner cutting past an obstacle.
          if (dr !== 0 && dc !== 0 && (!this.isFree(cc + dc, cr) || !this.isFree(cc, cr + dr))) continue;
          const next = (cr + dr) * this.cols + cc + dc;
          const cost = g[cur]! + (dr !== 0 && dc !== 0 ? Math.SQRT2 : 1);
          if (cost < g[next]!) {
            g[next] = cost;
            came[next] = cur;
            open.push(next, cost + this.h(next, goal));
          }
        }
      }
    }
    if (came[goal] === -1 && goal !== start) return undefined;
    const cells: number[] = [];
    for (let c = goal; c !== -1; c = came[c]!) cells.push(c);
    return cells.reverse().map((i) => this.centre(i % this.cols, Math.floor(i / this.cols)));
  }

  private smooth(points: Vec2[]): Vec2[] {
    const out: Vec2[] = [points[0]!];
    let i = 0;
    while (i < points.length - 1) {
      let j = points.length - 1;
      while (j > i + 1 && !this.clear(points[i]!, points[j]!)) j--;
      out.push(points[j]!);
      i = j;
    }
    return out;
  }

  private clear(a: Vec2, b: Vec2): boolean {
    const steps = Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / (CELL_M / 2));
    for (let s = 1; s < steps; s++) {
      const p = { x: a.x + ((b.x - a.x) * s) / steps, y: a.y + ((b.y - a.y) * s) / steps };
      const [c, r] = this.cellOf(p);
      if (!this.isFree(c, r)) return false;
    }
    return true;
  }

  private h(a: number, b: number): number {
    const ac = a % this.cols;
    const bc = b % this.cols;
    return Math.hypot(ac - bc, (a - ac) / this.cols - (b - bc) / this.cols);
  }

  private isFree(c: number, r: number): boolean {
    return c >= 0 && r >= 0 && c < this.cols && r < this.rows && this.free[r * this.cols + c] === 1;
  }

  private cellOf(p: Vec2): [number, number] {
    return [Math.min(this.cols - 1, Math.max(0, Math.floor(p.x / CELL_M))), Math.min(this.rows - 1, Math.max(0, Math.floor(p.y / CELL_M)))];
  }

  private centre(c: number, r: number): Vec2 {
    return { x: (c + 0.5) * CELL_M, y: (r + 0.5) * CELL_M };
  }
}

class MinHeap {
  private readonly items: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: number, key: number): void {
    this.items.push(item);
    this.keys.push(key);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): number {
    const top = this.items[0]!;
    const lastItem = this.items.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.items.length > 0) {
      this.items[0] = lastItem;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.keys.length && this.keys[l]! < this.keys[m]!) m = l;
        if (r < this.keys.length && this.keys[r]! < this.keys[m]!) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
    [this.keys[a], this.keys[b]] = [this.keys[b]!, this.keys[a]!];
  }
}
