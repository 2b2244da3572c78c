import { describe, expect, it } from 'vitest';
import type { TagRead } from '../../edge-agent/src/devices/rfid/tag-read.js';
import { ExitGateTracker, gateAntennas, type GateAntenna, type GatePassage } from '../../edge-agent/src/rfid/exit-gate.js';
import { RfidReadModel, type ReadModelAntenna, type ReadModelTag } from '../../edge-agent/src/rfid/rfid-read-model.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { demoConfig } from '../support/demo-config.js';

/**
 * An exit like a real one: the doorway line is y = 0 (the store is y < 0), a pedestal on each
 * side of the 1.8 m wide walkway, each with an inside antenna 0.75 m before the line and an
 * outside antenna 0.75 m after it, 1 m high, facing across the walkway and turned 30° towards
 * their own side. The two pedestals are two readers.
 */
const TURN = Math.PI / 6;
const GATE_ANTENNAS: ReadModelAntenna[] = [
  { reader: 'gate-left', antenna: 1, x: -0.9, y: -0.75, z: 1, facing: -TURN, rangeM: 4 },
  { reader: 'gate-left', antenna: 2, x: -0.9, y: 0.75, z: 1, facing: TURN, rangeM: 4 },
  { reader: 'gate-right', antenna: 1, x: 0.9, y: -0.75, z: 1, facing: Math.PI + TURN, rangeM: 4 },
  { reader: 'gate-right', antenna: 2, x: 0.9, y: 0.75, z: 1, facing: Math.PI - TURN, rangeM: 4 },
];
/** A reflective entrance: back lobes and reflections 12 dB down, deep fades. */
const HARSH = { frontToBackDb: 12, fadeSigmaDb: 4 };
const ZONES: GateAntenna[] = GATE_ANTENNAS.map((a) => ({ reader: a.reader, antenna: a.antenna, zone: a.y < 0 ? 'inside' : 'outside' }));

type Truth = 'out' | 'in' | 'linger';
type TripKind = 'out' | 'in' | 'linger-back' | 'linger-out' | 'pair-out' | 'pair-in';

interface Waypoint {
  t: number;
  x: number;
  y: number;
}

interface Trip {
  kind: TripKind;
  truth: Truth;
  tags: { epc: string; dx: number; dy: number; z: number; lossDb: number }[];
  path: Waypoint[];
  missRate: number;
  rssiSigmaDb: number;
}

/** A walk through waypoints at `speed`, pausing `pauseS` at each of the `pauses` indexes. */
function walk(random: Random, start: number, points: [number, number][], speed: number, pauses: Set<number> = new Set(), pauseS = () => 0): Waypoint[] {
  const path: Waypoint[] = [];
  let t = start;
  let prev = points[0]!;
  path.push({ t, x: prev[0], y: prev[1] });
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    t += (Math.hypot(p[0] - prev[0], p[1] - prev[1]) / speed) * 1000 * random.between(0.9, 1.1);
    path.push({ t, x: p[0], y: p[1] });
    if (pauses.has(i)) {
      t += pauseS() * 1000;
      path.push({ t, x: p[0], y: p[1] });
    }
    prev = p;
  }
  return path;
}

function positionAt(path: Waypoint[], t: number): { x: number; y: number } {
  if (t <= path[0]!.t) return path[0]!;
  for (let i = 1; i < path.length; i++) {
    const b = path[i]!;
    if (t <= b.t) {
      const a = path[i - 1]!;
      const f = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    }
  }
  return path[path.length - 1]!;
}

function makeTrip(random: Random, index: number, kind: TripKind, start: number): Trip {
  const speed = random.between(0.6, 1.6);
  const lane = () => random.between(-0.6, 0.6);
  const far = 7;
  let points: [number, number][];
  const pauses = new Set<number>();
  let pauseS = () => 0;
  let truth: Truth;
  switch (kind) {
    case 'out':
    case 'pair-out':
      points = [[lane(), -far], [lane(), -1.5], [lane(), 1.5], [lane(), far]];
      truth = 'out';
      break;
    case 'in':
    case 'pair-in':
      points = [[lane(), far], [lane(), 1.5], [lane(), -1.5], [lane(), -far]];
      truth = 'in';
      break;
    case 'linger-back':
    case 'linger-out': {
      // Browsing by the exit for 10–60 s: a few spots between 0.5 and 2.5 m inside the line.
      const spots = random.int(2, 5);
      const lingerS = random.between(10, 60);
      points = [[lane(), -far]];
      for (let i = 0; i < spots; i++) {
        points.push([random.between(-1, 1), random.between(-2.5, -0.5)]);
        pauses.add(points.length - 1);
      }
      pauseS = () => lingerS / spots;
      points.push(kind === 'linger-back' ? [lane(), -far] : [lane(), far]);
      truth = kind === 'linger-back' ? 'linger' : 'out';
      break;
    }
  }
  const tagCount = kind === 'pair-out' || kind === 'pair-in' ? 2 : 1;
  const tags = Array.from({ length: tagCount }, (_, k) => ({
    epc: `E2000000${String(index).padStart(6, '0')}${k}`,
    dx: k === 0 ? 0 : random.between(-0.4, 0.4),
    dy: k === 0 ? 0 : random.between(-0.4, 0.4),
    z: random.between(0.5, 1.4),
    lossDb: random.between(0, 6),
  }));
  return {
    kind,
    truth,
    tags,
    path: walk(random, start, points, speed, pauses, pauseS),
    missRate: random.between(0.05, 0.2),
    rssiSigmaDb: random.between(2, 4),
  };
}

const KINDS: TripKind[] = ['out', 'out', 'in', 'in', 'linger-back', 'linger-back', 'linger-out', 'pair-out', 'pair-in'];

interface TagOutcome {
  truth: Truth;
  kind: TripKind;
  directions: GatePassage['direction'][];
  /** When the tag really crossed the doorway line (NaN: it never did). */
  crossedAt: number;
  /** Zone of its first and last read, for the naive baseline. */
  firstOutside: boolean | undefined;
  lastOutside: boolean | undefined;
}

interface DayResult {
  passages: GatePassage[];
  tags: Map<string, TagOutcome>;
  reads: number;
  /** Reads of each tag by outside antennas. */
  outsideReads: Map<string, number>;
  simulatedS: number;
}

/** When a tag `dy` ahead of the walker crosses y = 0. */
function crossingTime(path: Waypoint[], dy: number): number {
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1]!;
    const b = path[i]!;
    if (Math.sign(a.y + dy) !== Math.sign(b.y + dy)) return a.t + ((b.t - a.t) * -(a.y + dy)) / (b.y - a.y);
  }
  return NaN;
}

function outsideAntenna(zones: GateAntenna[], read: TagRead): boolean {
  return zones.some((z) => z.zone === 'outside' && z.reader === read.reader && z.antenna === read.antenna);
}

interface DayOptions {
  antennas?: ReadModelAntenna[];
  zones?: GateAntenna[];
  /** Advance the tracker after every round (as the agent's clock would) or only at the end. */
  advanceEachRound?: boolean;
}

function simulateDay(seed: number, trips: number, options: DayOptions = {}): DayResult {
  const { antennas = GATE_ANTENNAS, zones = ZONES, advanceEachRound = true } = options;
  const random = new Random(seed);
  const plan = random.fork('trips');
  const passages: GatePassage[] = [];
  const tracker = new ExitGateTracker('gate-exit', zones, (p) => passages.push(p));
  const tags = new Map<string, TagOutcome>();
  const reads: TagRead[] = [];
  const positions: ReadModelTag[] = [];
  const outsideReads = new Map<string, number>();
  let readCount = 0;
  let t = 1_800_000_000_000;
  const t0 = t;
  for (let i = 0; i < trips; i++) {
    const trip = makeTrip(plan, i, KINDS[i % KINDS.length]!, t);
    for (const tag of trip.tags) {
      const crossedAt = trip.truth === 'linger' ? NaN : crossingTime(trip.path, tag.dy);
      tags.set(tag.epc, { truth: trip.truth, kind: trip.kind, directions: [], crossedAt, firstOutside: undefined, lastOutside: undefined });
    }
    const model = new RfidReadModel(random.fork(`trip-${i}`), { ...HARSH, missRate: trip.missRate, rssiSigmaDb: trip.rssiSigmaDb });
    const end = trip.path[trip.path.length - 1]!.t;
    for (let now = trip.path[0]!.t; now <= end; now += model.roundIntervalMs) {
      const { x, y } = positionAt(trip.path, now);
      positions.length = 0;
      for (const tag of trip.tags) positions.push({ epc: tag.epc, x: x + tag.dx, y: y + tag.dy, z: tag.z, lossDb: tag.lossDb });
      for (const read of model.round(now, antennas, positions, reads)) {
        tracker.push(read);
        const outside = outsideAntenna(zones, read);
        if (outside) outsideReads.set(read.epc, (outsideReads.get(read.epc) ?? 0) + 1);
        const outcome = tags.get(read.epc)!;
        outcome.firstOutside ??= outside;
        outcome.lastOutside = outside;
      }
      readCount += reads.length;
      if (advanceEachRound) tracker.advance(now);
    }
    t = end + 5_000;
  }
  tracker.advance(t + 10_000);
  for (const p of passages) tags.get(p.epc)!.directions.push(p.direction);
  return { passages, tags, reads: readCount, outsideReads, simulatedS: (t - t0) / 1000 };
}

type Verdict = 'out' | 'in' | 'linger' | 'none';

/** A tag's verdict: an exit if any passage says so, else an entry, else a linger. */
function verdictOf(directions: GatePassage['direction'][]): Verdict {
  if (directions.includes('out')) return 'out';
  if (directions.includes('in')) return 'in';
  return directions.length > 0 ? 'linger' : 'none';
}

function baselineVerdict(outcome: TagOutcome): Verdict {
  if (outcome.firstOutside === undefined) return 'none';
  if (outcome.firstOutside === outcome.lastOutside) return 'linger';
  return outcome.lastOutside ? 'out' : 'in';
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function confusion(day: DayResult): Record<string, Record<Verdict, number>> {
  const table: Record<string, Record<Verdict, number>> = {};
  for (const { truth, kind, directions } of day.tags.values()) {
    const row = (table[`${kind} (${truth})`] ??= { out: 0, in: 0, linger: 0, none: 0 });
    row[verdictOf(directions)] += 1;
  }
  return table;
}

describe('ExitGateTracker', () => {
  it('tells exits, entries and lingering apart over a simulated day of 1,200 trips', () => {
    const day = simulateDay(20240611, 1_200);
    console.log(
      `exit gate: ${day.tags.size} tags, ${day.passages.length} passages, ${day.reads} reads in ${(day.simulatedS / 3600).toFixed(1)} h simulated; truth → verdict:`,
    );
    console.table(confusion(day));

    let crossings = 0;
    let crossingsRight = 0;
    let baselineRight = 0;
    let lingers = 0;
    let lingersOut = 0;
    let baselineLingersOut = 0;
    let lingersWithOutsideReads = 0;
    const crossingErrorsMs: number[] = [];
    for (const [epc, outcome] of day.tags) {
      const verdict = verdictOf(outcome.directions);
      const baseline = baselineVerdict(outcome);
      if (outcome.truth === 'linger') {
        lingers += 1;
        if (verdict === 'out') lingersOut += 1;
        if (baseline === 'out') baselineLingersOut += 1;
        if ((day.outsideReads.get(epc) ?? 0) > 0) lingersWithOutsideReads += 1;
        continue;
      }
      crossings += 1;
      // Right: the true crossing, and never the opposite one.
      const opposite = outcome.truth === 'out' ? 'in' : 'out';
      if (verdict === outcome.truth && !outcome.directions.includes(opposite)) crossingsRight += 1;
      if (baseline === outcome.truth) baselineRight += 1;
      const passage = day.passages.find((p) => p.epc === epc && p.direction === outcome.truth);
      if (passage) crossingErrorsMs.push(Math.abs(passage.crossedAt - outcome.crossedAt));
    }
    const confidences = day.passages.filter((p) => p.direction !== 'linger').map((p) => p.confidence);
    console.log(
      `crossings right ${crossingsRight}/${crossings} (${((100 * crossingsRight) / crossings).toFixed(2)} %); ` +
        `lingering tags reported as 'out' ${lingersOut}/${lingers} (${lingersWithOutsideReads} of them read by outside antennas); ` +
        `crossing time error median ${quantile(crossingErrorsMs, 0.5).toFixed(0)} ms, p95 ${quantile(crossingErrorsMs, 0.95).toFixed(0)} ms; ` +
        `crossing confidence p5 ${quantile(confidences, 0.05).toFixed(3)}, median ${quantile(confidences, 0.5).toFixed(3)}`,
    );
    console.log(
      `baseline (zone of a tag's first and last read): crossings right ${baselineRight}/${crossings} (${((100 * baselineRight) / crossings).toFixed(2)} %), lingering tags reported as 'out' ${baselineLingersOut}/${lingers}`,
    );

    expect(crossings).toBeGreaterThanOrEqual(1_000);
    expect(lingers).toBeGreaterThanOrEqual(250);
    expect(crossingsRight / crossings).toBeGreaterThanOrEqual(0.99);
    expect(lingersOut).toBe(0);
    expect(quantile(crossingErrorsMs, 0.5)).toBeLessThan(500);
    // The day must be hard enough to mean something: lingerers are read from outside, and the naive rule fails.
    expect(lingersWithOutsideReads).toBeGreaterThan(lingers / 2);
    expect(baselineRight / crossings).toBeLessThan(0.99);
  });

  it("works with the demo store's exit reader: one inside and one outside antenna on one pedestal", () => {
    const zones = gateAntennas(demoConfig('/tmp/unused').rfid.readers, 'gate-exit');
    expect(zones).toEqual([
      { reader: 'rfid-exit', antenna: 1, zone: 'inside' },
      { reader: 'rfid-exit', antenna: 2, zone: 'outside' },
    ]);
    const antennas = GATE_ANTENNAS.filter((a) => a.reader === 'gate-right').map((a) => ({ ...a, reader: 'rfid-exit' }));
    const day = simulateDay(7, 450, { antennas, zones });
    let crossings = 0;
    let right = 0;
    let lingersOut = 0;
    for (const outcome of day.tags.values()) {
      const verdict = verdictOf(outcome.directions);
      if (outcome.truth === 'linger') {
        if (verdict === 'out') lingersOut += 1;
      } else {
        crossings += 1;
        if (verdict === outcome.truth && outcome.directions.filter((d) => d !== 'linger').length === 1) right += 1;
      }
    }
    console.log(`demo exit (2 antennas): crossings right ${right}/${crossings}, lingering tags reported as 'out' ${lingersOut}`);
    console.table(confusion(day));
    expect(right / crossings).toBeGreaterThanOrEqual(0.99);
    expect(lingersOut).toBe(0);
  });

  it('decides at the same moments whether time moves with every round or only with the reads', () => {
    const a = simulateDay(99, 60);
    const b = simulateDay(99, 60, { advanceEachRound: false });
    expect(b.passages).toEqual(a.passages);
    expect(a.passages.length).toBeGreaterThanOrEqual(60);
    for (const p of a.passages) {
      expect(p.at).toBeGreaterThanOrEqual(p.lastAt);
      expect(p.firstAt).toBeLessThanOrEqual(p.lastAt);
    }
  });

  describe('reads made by hand', () => {
    const zones: GateAntenna[] = [
      { reader: 'r', antenna: 1, zone: 'inside' },
      { reader: 'r', antenna: 2, zone: 'outside' },
    ];
    const read = (antenna: number, at: number, rssi: number, epc = 'E1'): TagRead => ({ reader: 'r', antenna, epc, rssi, at });

    function track(reads: TagRead[], end: number): { passages: GatePassage[]; tracker: ExitGateTracker } {
      const passages: GatePassage[] = [];
      const tracker = new ExitGateTracker('g', zones, (p) => passages.push(p));
      for (const r of reads) tracker.push(r);
      tracker.advance(end);
      return { passages, tracker };
    }

    /** Reads every 100 ms from `from` to `to`, of antenna 1 while `inside(t)` and antenna 2 otherwise. */
    function walkReads(from: number, to: number, inside: (t: number) => boolean, rssi: number): TagRead[] {
      const reads: TagRead[] = [];
      for (let t = from; t < to; t += 100) reads.push(read(inside(t) ? 1 : 2, t, rssi));
      return reads;
    }

    it('ends a passage after the gap and decides it then', () => {
      const { passages } = track(walkReads(0, 4_000, (t) => t < 2_000, -55), 20_000);
      expect(passages).toHaveLength(1);
      const [p] = passages;
      expect(p!.direction).toBe('out');
      expect(p!.at).toBe(3_900 + 3_000);
      expect(p!.crossedAt).toBeGreaterThan(1_700);
      expect(p!.crossedAt).toBeLessThan(2_300);
      expect(p!.reads).toBe(40);
    });

    it('takes a tag that steps outside and comes back for a linger, not an exit or an entry', () => {
      const { passages } = track(walkReads(0, 9_000, (t) => t < 3_000 || t >= 6_000, -55), 30_000);
      expect(passages.map((p) => p.direction)).toEqual(['linger']);
    });

    it('decides from read counts when the reader reports no RSSI', () => {
      const { passages } = track(walkReads(0, 4_000, (t) => t >= 2_000, NaN), 20_000);
      expect(passages.map((p) => p.direction)).toEqual(['in']);
    });

    it('cuts a passage that never ends at maxPassageMs', () => {
      const passages: GatePassage[] = [];
      const tracker = new ExitGateTracker('g', zones, (p) => passages.push(p), { maxPassageMs: 60_000 });
      for (let t = 0; t < 150_000; t += 200) tracker.push(read(1, t, -60));
      tracker.advance(200_000);
      expect(passages.map((p) => [p.direction, p.firstAt])).toEqual([
        ['linger', 0],
        ['linger', 60_000],
        ['linger', 120_000],
      ]);
      expect(tracker.counters.cutPassages).toBe(2);
    });

    it('counts reads of other antennas and bad reads, and takes late ones as now', () => {
      const passages: GatePassage[] = [];
      const tracker = new ExitGateTracker('g', zones, (p) => passages.push(p));
      tracker.push(read(3, 0, -50));
      tracker.push({ reader: 'shelf', antenna: 1, epc: 'E1', rssi: -50, at: 0 });
      tracker.push(read(1, NaN, -50));
      tracker.push(read(1, 1_000, -50, ''));
      tracker.push(read(1, 1_000, -50));
      tracker.push(read(1, 500, -50));
      tracker.advance(10_000);
      expect(tracker.counters).toMatchObject({ reads: 6, otherReads: 2, badReads: 2, lateReads: 1, linger: 1 });
      expect(passages).toHaveLength(1);
      expect(passages[0]!.reads).toBe(2);
      expect(tracker.openPassages).toBe(0);
    });
  });
});
