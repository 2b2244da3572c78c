import { describe, expect, it } from 'vitest';
import { FloorGrid } from '../../edge-agent/src/analytics/floor-grid.js';
import { ShopperHeat, type HourCells } from '../../edge-agent/src/analytics/shopper-heat.js';
import { Random } from '../../edge-agent/src/sim/random.js';

const HOUR_MS = 3_600_000;
const TICK_MS = 200;
const hourOf = (h: number): number => Math.floor(h / HOUR_MS) * HOUR_MS;
/** 10:00:00 UTC: on the hour, so also on the tick grid. */
const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
const STILL = { radiusM: 0.5, maxMs: 300_000 };

/** The demo store's floor: 12 × 8 m in 0.25 m cells, 48 columns × 32 rows. */
const COLS = 48;
const cellOf = (x: number, y: number): number => Math.floor(y / 0.25) * COLS + Math.floor(x / 0.25);

function newHeat(): ShopperHeat {
  return new ShopperHeat(new FloorGrid(12, 8, 0.25), TICK_MS, STILL, hourOf);
}

/** Ticks per cell over every hour. */
function byCell(counted: HourCells): Map<number, number> {
  const out = new Map<number, number>();
  for (const cells of counted.values()) for (const [cell, n] of cells) out.set(cell, (out.get(cell) ?? 0) + n);
  return out;
}

function total(counted: HourCells): number {
  let n = 0;
  for (const cells of counted.values()) for (const v of cells.values()) n += v;
  return n;
}

/** Expected cell → ticks for a list of tick positions. */
function expectedCells(points: readonly { x: number; y: number }[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of points) out.set(cellOf(p.x, p.y), (out.get(cellOf(p.x, p.y)) ?? 0) + 1);
  return out;
}

/** Observes a spot with ± `noise` m uniform jitter every tick from `from` for `ms`; returns the ticks. */
function stand(heat: ShopperHeat, random: Random, from: number, ms: number, x: number, y: number, noise = 0.1): number {
  let ticks = 0;
  for (let t = from; t <= from + ms; t += TICK_MS, ticks++) heat.observe(t, x + random.between(-noise, noise), y + random.between(-noise, noise));
  return ticks;
}

/** Walks in a straight line at 1 m/s, observed every tick after `from` (exclusive) up to the end point; returns the ticks. */
function walk(heat: ShopperHeat, from: number, x0: number, y0: number, x1: number, y1: number): { ticks: number; end: number } {
  const seconds = Math.hypot(x1 - x0, y1 - y0);
  const steps = Math.round((seconds * 1000) / TICK_MS);
  for (let k = 1; k <= steps; k++) heat.observe(from + k * TICK_MS, x0 + ((x1 - x0) * k) / steps, y0 + ((y1 - y0) * k) / steps);
  return { ticks: steps, end: from + steps * TICK_MS };
}

describe('FloorGrid', () => {
  it('numbers cells row by row and counts positions off the plan in the edge cell', () => {
    const grid = new FloorGrid(12, 8, 0.25);
    expect([grid.cols, grid.rows, grid.cells]).toEqual([48, 32, 48 * 32]);
    expect(grid.cellAt(0.1, 0.1)).toBe(0);
    expect(grid.cellAt(0.3, 0.1)).toBe(1);
    expect(grid.cellAt(0.1, 0.3)).toBe(48);
    expect(grid.cellAt(11.9, 7.9)).toBe(48 * 32 - 1);
    expect(grid.cellAt(-0.4, 3.1)).toBe(12 * 48);
    expect(grid.cellAt(12.5, 9)).toBe(48 * 32 - 1);
    expect(grid.centre(49)).toEqual({ x: 0.375, y: 0.375 });
    expect(new FloorGrid(1.1, 1, 0.5).cols).toBe(3);
    expect(new FloorGrid(1.0, 1, 0.25).cols).toBe(4);
  });
});

describe('ShopperHeat: sampling on the tick grid', () => {
  it('counts one tick per observation time, in the cell of each position, for a walk observed on tick times', () => {
    const heat = newHeat();
    const points: { x: number; y: number }[] = [];
    for (let k = 0; k <= 25; k++) {
      const p = { x: 0.12 + 0.2 * k, y: 1.1 };
      points.push(p);
      heat.observe(T0 + k * TICK_MS, p.x, p.y);
    }
    heat.finish();
    expect(heat.firstTickAt).toBe(T0);
    expect(total(heat.counted)).toBe(26);
    expect([...heat.counted.keys()]).toEqual([T0]);
    expect(byCell(heat.counted)).toEqual(expectedCells(points));
    expect(heat.droppedStillTicks).toBe(0);
  });

  it('counts each tick once however many observations fall between two ticks (two cameras)', () => {
    const heat = newHeat();
    for (let k = 0; k <= 10; k++) {
      heat.observe(T0 + k * TICK_MS, 1.125 + 0.25 * k, 2.1);
      heat.observe(T0 + k * TICK_MS, 1.125 + 0.25 * k, 2.1); // same time again
      heat.observe(T0 + k * TICK_MS + 20, 1.125 + 0.25 * k + 0.01, 2.1); // the second camera a little later
    }
    heat.finish();
    expect(total(heat.counted)).toBe(11);
    for (let k = 0; k <= 10; k++) expect(byCell(heat.counted).get(cellOf(1.125 + 0.25 * k, 2.1))).toBe(1);
  });

  it('samples on the shared grid when observations are off it', () => {
    const heat = newHeat();
    // Observations at 50, 250, …, 2050 ms: ticks 200 … 2000 lie between them.
    for (let k = 0; k <= 10; k++) heat.observe(T0 + 50 + k * TICK_MS, 1.125 + 0.25 * k, 2.1);
    heat.finish();
    expect(heat.firstTickAt).toBe(T0 + 200);
    expect(total(heat.counted)).toBe(10);
  });

  it('fills a gap between observations with ticks along the straight line', () => {
    const heat = newHeat();
    // 1.25 m/s along a row, positions on cell centres; 1 s (ticks 2–5) not observed.
    const x = (k: number) => 1.125 + 0.25 * k;
    for (const k of [0, 1, 6, 7]) heat.observe(T0 + k * TICK_MS, x(k), 3.125);
    heat.finish();
    // Mass preserved: one tick per tick time from the first observation to the last.
    expect(total(heat.counted)).toBe(8);
    const cells = byCell(heat.counted);
    for (let k = 0; k <= 7; k++) expect(cells.get(cellOf(x(k), 3.125)), `tick ${k}`).toBe(1);
  });

  it('fills a diagonal gap through the cells between', () => {
    const heat = newHeat();
    heat.observe(T0, 2.125, 2.125);
    heat.observe(T0 + 4 * TICK_MS, 3.125, 3.125);
    heat.finish();
    const cells = byCell(heat.counted);
    expect(total(heat.counted)).toBe(5);
    for (let k = 0; k <= 4; k++) expect(cells.get(cellOf(2.125 + 0.25 * k, 2.125 + 0.25 * k))).toBe(1);
  });

  it('counts nothing after the last observation', () => {
    const heat = newHeat();
    heat.observe(T0, 1.125, 1.125);
    heat.observe(T0 + 200, 1.375, 1.125);
    heat.observe(T0 + 500, 1.75, 1.125);
    heat.finish();
    // Ticks at 0, 200 and 400 only: none at 600 or later.
    expect(total(heat.counted)).toBe(3);
    const cells = byCell(heat.counted);
    expect(cells.get(cellOf(1.125, 1.125))).toBe(1);
    expect(cells.get(cellOf(1.375, 1.125))).toBe(1);
    // 400 ms lies 2/3 of the way from 1.375 to 1.75.
    expect(cells.get(cellOf(1.625, 1.125))).toBe(1);
  });

  it('counts nothing before the first observation and nothing for a lone observation off the grid', () => {
    const heat = newHeat();
    heat.observe(T0 + 150, 5, 5);
    heat.finish();
    expect(total(heat.counted)).toBe(0);
    expect(Number.isNaN(heat.firstTickAt)).toBe(true);
  });

  it('ignores observations older than the last one', () => {
    const heat = newHeat();
    heat.observe(T0, 1.125, 1.125);
    heat.observe(T0 + 400, 1.625, 1.125);
    heat.observe(T0 + 200, 10.125, 7.125); // late, from far away
    heat.observe(T0 + 100, 10.125, 7.125);
    heat.observe(T0 + 600, 1.875, 1.125);
    heat.finish();
    expect(total(heat.counted)).toBe(4);
    const cells = byCell(heat.counted);
    expect(cells.has(cellOf(10.125, 7.125))).toBe(false);
    // Tick 200 is interpolated between the in-order observations at 0 and 400.
    expect(cells.get(cellOf(1.375, 1.125))).toBe(1);
    expect([...cells.values()]).toEqual([1, 1, 1, 1]);
  });

  it('puts ticks either side of an hour boundary into two hour buckets', () => {
    const heat = newHeat();
    const H = T0 + HOUR_MS;
    for (let t = H - 1000, k = 0; t <= H + 1000; t += TICK_MS, k++) heat.observe(t, 1.125 + 0.25 * k, 4.125);
    heat.finish();
    expect([...heat.counted.keys()].sort()).toEqual([H - HOUR_MS, H]);
    expect(total(new Map([[0, heat.counted.get(H - HOUR_MS)!]]))).toBe(5); // −1000 … −200
    expect(total(new Map([[0, heat.counted.get(H)!]]))).toBe(6); // 0 … 1000
  });

  it('splits the ticks of a gap across an hour boundary by tick time', () => {
    const heat = newHeat();
    const H = T0 + HOUR_MS;
    heat.observe(H - 600, 2, 4.125);
    heat.observe(H + 600, 3.2, 4.125);
    heat.finish();
    expect(total(new Map([[0, heat.counted.get(H - HOUR_MS)!]]))).toBe(3);
    expect(total(new Map([[0, heat.counted.get(H)!]]))).toBe(4);
  });
});

describe('ShopperHeat: stationary objects', () => {
  it('drops every tick of a "mannequin" seen at one spot ± 0.1 m for 10 minutes', () => {
    const heat = newHeat();
    const random = new Random(7);
    // The first 299.8 s are held, undecided.
    const held = stand(heat, random, T0, 299_800, 6, 4);
    expect(heat.stationary).toBe(false);
    expect(total(heat.counted)).toBe(0);
    expect(heat.droppedStillTicks).toBe(0);
    // At 300 s the stretch is known to be still: everything so far is dropped.
    const rest = stand(heat, random, T0 + 300_000, 300_000, 6, 4);
    expect(heat.stationary).toBe(true);
    expect(heat.stillSince).toBe(T0);
    expect(heat.droppedStillTicks).toBe(held + rest);
    heat.finish();
    expect(heat.counted.size).toBe(0);
    expect(held + rest).toBe(3001);
    expect(heat.droppedStillTicks).toBe(3001);
  });

  it('keeps every tick of a shopper who stands still 2 minutes and then walks on', () => {
    const heat = newHeat();
    const random = new Random(8);
    const stood = stand(heat, random, T0, 120_000, 3, 3);
    const walked = walk(heat, T0 + 120_000, 3, 3, 8, 3);
    heat.finish();
    expect(heat.droppedStillTicks).toBe(0);
    expect(total(heat.counted)).toBe(stood + walked.ticks);
    // Almost all of it where the shopper stood.
    const cells = byCell(heat.counted);
    const around = [...cells].filter(([cell]) => [cellOf(2.9, 2.9), cellOf(3.1, 2.9), cellOf(2.9, 3.1), cellOf(3.1, 3.1)].includes(cell));
    expect(around.reduce((s, [, n]) => s + n, 0)).toBeGreaterThanOrEqual(stood);
    expect(cells.get(cellOf(8, 3))).toBeGreaterThanOrEqual(1);
  });

  it('drops only the still stretch of a shopper who walks, stands 6 minutes and walks away', () => {
    const heat = newHeat();
    const random = new Random(9);
    heat.observe(T0, 1, 3);
    const before = walk(heat, T0, 1, 3, 6, 3);
    const stood = stand(heat, random, before.end + TICK_MS, 360_000 - TICK_MS, 6, 3);
    const after = walk(heat, before.end + 360_000, 6, 3, 11, 3);
    heat.finish();
    const ticks = 1 + before.ticks + stood + after.ticks;
    expect(total(heat.counted) + heat.droppedStillTicks).toBe(ticks);
    // The standing ticks, plus at most the few walking ticks within 0.5 m of where the stretch began.
    expect(heat.droppedStillTicks).toBeGreaterThanOrEqual(stood);
    expect(heat.droppedStillTicks).toBeLessThanOrEqual(stood + 6);
    const cells = byCell(heat.counted);
    expect(cells.get(cellOf(1, 3))).toBeGreaterThanOrEqual(1);
    expect(cells.get(cellOf(3.5, 3))).toBeGreaterThanOrEqual(1);
    expect(cells.get(cellOf(8.5, 3))).toBeGreaterThanOrEqual(1);
    expect(cells.get(cellOf(11, 3))).toBeGreaterThanOrEqual(1);
    expect(total(heat.counted)).toBeGreaterThanOrEqual(before.ticks + after.ticks + 1 - 6);
  });

  it('keeps a still stretch just under the limit', () => {
    const heat = newHeat();
    const ticks = stand(heat, new Random(10), T0, 299_800, 6, 4);
    heat.finish();
    expect(ticks).toBe(1500);
    expect(total(heat.counted)).toBe(1500);
    expect(heat.droppedStillTicks).toBe(0);
  });
});
