import { describe, expect, it } from 'vitest';
import { Random } from '../../edge-agent/src/sim/random.js';
import { WeightEventDetector, type DetectedChange } from '../../edge-agent/src/shelf/weight-event-detector.js';

const RATE = 60;
const DT = 1000 / RATE;
const T0 = 1_800_000_000_000;

/** Six plates: a facing on plates 1–2, one on 3–4, one on 5–6. */
const FACINGS = ['a', 'a', 'b', 'b', 'c', 'c'];

type Signal = (plate: number, t: number) => number;

function run(seconds: number, signal: Signal, options: { sigma?: number; seed?: number; missing?: (plate: number, t: number) => boolean } = {}): DetectedChange[] {
  const random = new Random(options.seed ?? 1);
  const changes: DetectedChange[] = [];
  const detector = new WeightEventDetector('1.1', FACINGS, (c) => changes.push(c));
  const tick = { shelf: '1.1', at: 0, grams: new Float64Array(FACINGS.length) };
  const sigma = options.sigma ?? 1;
  for (let n = 0; n < seconds * RATE; n++) {
    const t = n * DT;
    tick.at = T0 + t;
    for (let p = 0; p < FACINGS.length; p++) {
      tick.grams[p] = options.missing?.(p, t) ? NaN : 2000 + signal(p, t) + random.normal(0, sigma);
    }
    detector.push(tick);
  }
  return changes;
}

/** A pick: the hand presses `press` grams from `at` for `holdMs`, lifts `grams`, and the goods rock a little. */
function pick(plate: number, at: number, grams: number, press = 150, holdMs = 600): Signal {
  return (p, t) => {
    if (p !== plate || t < at) return 0;
    const dt = t - at;
    let v = 0;
    if (dt < holdMs) v += press * Math.min(1, dt / 150) * (1 + 0.2 * Math.sin(dt / 40));
    if (dt >= holdMs) v -= grams + 25 * Math.exp(-(dt - holdMs) / 300) * Math.sin((dt - holdMs) / 50);
    return v;
  };
}

const sum =
  (...signals: Signal[]): Signal =>
  (p, t) =>
    signals.reduce((s, f) => s + f(p, t), 0);

describe('WeightEventDetector', () => {
  it('finds a pick, with its change per plate and the time it took', () => {
    const changes = run(10, pick(0, 3_000, 350));
    expect(changes).toHaveLength(1);
    const [c] = changes;
    expect(c!.deltaGrams).toBeCloseTo(-350, 0);
    expect(c!.plateIndexes).toEqual([0]);
    expect(c!.tStart - T0).toBeGreaterThan(2_700);
    expect(c!.tStart - T0).toBeLessThan(3_100);
    expect(c!.tEnd - T0).toBeGreaterThan(3_600);
    expect(c!.tEnd - T0).toBeLessThan(5_500);
    expect(c!.noiseSigma).toBeLessThan(1);
    expect(c!.flags).toEqual([]);
  });

  it('shares a unit lying across two plates of one facing between them', () => {
    const changes = run(10, sum(pick(0, 3_000, 200), pick(1, 3_050, 150)));
    expect(changes).toHaveLength(1);
    expect(changes[0]!.plateIndexes).toEqual([0, 1]);
    expect(changes[0]!.plateDeltas[0]).toBeCloseTo(-200, 0);
    expect(changes[0]!.plateDeltas[1]).toBeCloseTo(-150, 0);
  });

  it('stays silent for an hour of noise (3 g) with slow drift', () => {
    const drift: Signal = (p, t) => ((p % 2 === 0 ? 10 : -8) * t) / 3_600_000;
    expect(run(3_600, drift, { sigma: 3 })).toEqual([]);
  });

  it('tells two picks in quick succession apart', () => {
    // A second pick 2.5 s after the first: the time it takes to put an item in the basket and reach again.
    const changes = run(12, sum(pick(2, 2_000, 100), pick(2, 5_100, 100)));
    expect(changes.map((c) => Math.round(c.deltaGrams))).toEqual([-100, -100]);
    expect(changes[0]!.tEnd).toBeLessThan(changes[1]!.tStart);
  });

  it('keeps simultaneous picks at neighbouring facings apart', () => {
    const changes = run(10, sum(pick(1, 3_000, 500), pick(2, 3_100, 275)));
    expect(changes.map((c) => [c.plateIndexes, Math.round(c.deltaGrams)])).toEqual([
      [[1], -500],
      [[2], -275],
    ]);
  });

  it('reports nothing for a hand resting on the shelf or goods knocking their neighbours', () => {
    const rest: Signal = (p, t) => (p === 4 && t > 2_000 && t < 6_000 ? 400 * (1 + 0.2 * Math.sin(t / 230)) : 0);
    const knock: Signal = (p, t) => (p === 3 && t > 7_000 ? 30 * Math.exp(-(t - 7_000) / 300) * Math.sin((t - 7_000) / 40) : 0);
    expect(run(12, sum(rest, knock))).toEqual([]);
  });

  it('leaves out a plate that dies in the middle of an event and flags the event', () => {
    const changes = run(12, sum(pick(0, 3_000, 300), pick(1, 3_000, 300)), { missing: (p, t) => p === 1 && t > 3_300 });
    expect(changes).toHaveLength(1);
    expect(changes[0]!.flags).toEqual(['plate-missing']);
    expect(Number.isNaN(changes[0]!.plateDeltas[1])).toBe(true);
    expect(changes[0]!.deltaGrams).toBeCloseTo(-300, 0);
  });

  it('follows drift while quiet, so a later change is measured against the shelf as it is', () => {
    const drift: Signal = (_p, t) => (40 * t) / 3_600_000;
    const changes = run(1_800, sum(drift, pick(5, 1_700_000, 60)), { sigma: 2 });
    expect(changes).toHaveLength(1);
    expect(changes[0]!.deltaGrams).toBeCloseTo(-60, 0);
  });

  it('closes what is still open when flushed, flagged as unsettled', () => {
    const changes: DetectedChange[] = [];
    const detector = new WeightEventDetector('1.1', FACINGS, (c) => changes.push(c));
    const tick = { shelf: '1.1', at: 0, grams: new Float64Array(6).fill(1000) };
    for (let n = 0; n < 120; n++) {
      tick.at = T0 + n * DT;
      tick.grams[0] = n < 60 ? 1000 : 1000 - 250 + 40 * Math.sin(n);
      detector.push(tick);
    }
    expect(detector.busy).toBe(true);
    detector.flush(tick.at);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.flags).toEqual(['unsettled']);
  });
});
