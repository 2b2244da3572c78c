/**
 * Finds weight events on one shelf from its calibrated 60 Hz readings.
 *
 * Each plate keeps a baseline that follows slow drift only while the plate is quiet (automatic
 * zero tracking) and an estimate of its own noise. A plate whose short-window mean leaves the
 * baseline by more than its noise allows becomes active and joins the activity group of an
 * adjacent active plate of the same facing — one facing often rests on two plates, and a hand
 * pressing near a seam presses on both — while activity on the next facing is a separate group,
 * because that is somebody else's hand or a knock that will come back to zero. A group closes once all its plates have been quiet and flat for the settle
 * time; the change of each plate is its new level minus its old baseline, and the group is an
 * event when the total change is larger than noise and the smallest product could explain.
 *
 * So two shoppers at different facings of one shelf give two events even when their hands are
 * on the shelf at the same time; two picks in quick succession give two events as long as the
 * shelf is still for the settle time in between; a hand resting on the shelf, or goods knocking
 * their neighbours, move plates and bring them back — no event; a plate that stops reporting in
 * the middle of an event is left out and the event is flagged.
 */
import { PlateSignal } from './plate-signal.js';
import type { ShelfGramsTick } from './shelf-tick.js';

export interface DetectorSettings {
  rateHz: number;
  /** Samples in the short window used for mean and spread (200 ms at 60 Hz). */
  windowSamples: number;
  /** A plate triggers when its window mean leaves the baseline by this many sigmas of a window mean… */
  triggerSigmas: number;
  /** …and by at least this many grams. */
  triggerFloorGrams: number;
  /** A window spread above this many noise sigmas (and grams) also triggers: a hand rocking goods. */
  spreadSigmas: number;
  spreadFloorGrams: number;
  /** Consecutive triggering samples before a plate counts as active. */
  persistSamples: number;
  /** Quiet and flat samples that close an event (400 ms at 60 Hz). */
  settleSamples: number;
  settleSpreadSigmas: number;
  settleSpreadFloorGrams: number;
  /** Smallest change reported as an event. */
  minEventGrams: number;
  minEventSigmas: number;
  /** A plate's change is listed in `plates` from this size on. */
  plateChangeGrams: number;
  /** An event that has not settled by then is closed anyway and flagged. */
  maxEventMs: number;
  /** A plate without readings for this long during an event is left out of it. */
  missingPlateMs: number;
  /** Time constants of zero tracking and of the noise estimate while quiet. */
  baselineTauMs: number;
  noiseTauMs: number;
  /** Noise assumed until it has been measured, and the least noise ever assumed. */
  initialNoiseGrams: number;
  minNoiseGrams: number;
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = {
  rateHz: 60,
  windowSamples: 12,
  triggerSigmas: 6,
  triggerFloorGrams: 3,
  spreadSigmas: 4,
  spreadFloorGrams: 3,
  persistSamples: 3,
  settleSamples: 24,
  settleSpreadSigmas: 2.2,
  settleSpreadFloorGrams: 1.2,
  minEventGrams: 6,
  minEventSigmas: 6,
  plateChangeGrams: 3,
  maxEventMs: 30_000,
  missingPlateMs: 1_500,
  baselineTauMs: 5_000,
  noiseTauMs: 20_000,
  initialNoiseGrams: 1.5,
  minNoiseGrams: 0.3,
};

/** What the detector found: the raw change, before products are inferred. */
export interface DetectedChange {
  shelf: string;
  /** Plate indexes of the group (left to right) and their changes in grams (NaN: left out). */
  plateIndexes: number[];
  plateDeltas: number[];
  tStart: number;
  tEnd: number;
  deltaGrams: number;
  noiseSigma: number;
  flags: string[];
}

interface PlateState {
  signal: PlateSignal;
  baseline: number;
  noise: number;
  measuredNoise: boolean;
  active: boolean;
  triggerRun: number;
  activeSince: number;
  lastDisturbedAt: number;
  /** Samples of the current quiet run, and their sum: the plate's new level. */
  quietRun: number;
  quietSum: number;
  missingSince: number;
  lost: boolean;
  group: Group | undefined;
}

interface Group {
  plates: Set<number>;
  start: number;
  flags: Set<string>;
}

export class WeightEventDetector {
  private readonly plates: PlateState[];
  private readonly groups = new Set<Group>();
  private readonly baselineAlpha: number;
  private readonly noiseAlpha: number;
  private readonly samplePeriodMs: number;

  /**
   * `facings[i]` names the facing plate i belongs to (plates of one product's facing share it);
   * only plates of the same facing form one event.
   */
  constructor(
    readonly shelf: string,
    private readonly facings: readonly string[],
    private readonly onChange: (change: DetectedChange) => void,
    private readonly settings: DetectorSettings = DEFAULT_DETECTOR_SETTINGS,
  ) {
    const plateCount = facings.length;
    this.samplePeriodMs = 1000 / settings.rateHz;
    this.baselineAlpha = this.samplePeriodMs / settings.baselineTauMs;
    this.noiseAlpha = this.samplePeriodMs / settings.noiseTauMs;
    this.plates = Array.from({ length: plateCount }, () => ({
      signal: new PlateSignal(settings.windowSamples),
      baseline: NaN,
      noise: settings.initialNoiseGrams,
      measuredNoise: false,
      active: false,
      triggerRun: 0,
      activeSince: 0,
      lastDisturbedAt: 0,
      quietRun: 0,
      quietSum: 0,
      missingSince: NaN,
      lost: false,
      group: undefined,
    }));
  }

  /** Current noise estimate of each plate (grams, one sigma). */
  get noise(): number[] {
    return this.plates.map((p) => p.noise);
  }

  /** True while any plate of the shelf is part of an unfinished event. */
  get busy(): boolean {
    return this.groups.size > 0;
  }

  push(tick: ShelfGramsTick): void {
    const at = tick.at;
    const n = Math.min(this.plates.length, tick.grams.length);
    for (let i = 0; i < n; i++) this.update(i, tick.grams[i]!, at);
    for (const group of this.groups) this.maybeClose(group, at);
  }

  /** Closes what is open (end of a replay, shutdown); unsettled groups are flagged. */
  flush(at: number): void {
    for (const group of [...this.groups]) {
      group.flags.add('unsettled');
      this.close(group, at);
    }
  }

  private update(i: number, grams: number, at: number): void {
    const s = this.settings;
    const p = this.plates[i]!;
    if (Number.isNaN(grams)) {
      if (Number.isNaN(p.missingSince)) p.missingSince = at;
      if (p.active && !p.lost && at - p.missingSince > s.missingPlateMs) {
        p.lost = true;
        p.group?.flags.add('plate-missing');
      }
      return;
    }
    if (!Number.isNaN(p.missingSince)) {
      // A plate that comes back starts its window afresh: the gap may hide a change.
      p.missingSince = NaN;
      p.signal.clear();
      p.quietRun = 0;
      p.quietSum = 0;
    }
    p.signal.push(grams);
    if (!p.signal.full) return;
    const mean = p.signal.mean();
    const spread = p.signal.std();
    if (Number.isNaN(p.baseline)) {
      p.baseline = mean;
      return;
    }

    if (!p.active) {
      const meanNoise = p.noise / Math.sqrt(s.windowSamples);
      const off = Math.abs(mean - p.baseline) > Math.max(s.triggerSigmas * meanNoise, s.triggerFloorGrams);
      const rocking = spread > Math.max(s.spreadSigmas * p.noise, s.spreadFloorGrams);
      if (off || rocking) {
        p.triggerRun += 1;
        if (p.triggerRun >= s.persistSamples) this.activate(i, at - (s.persistSamples + s.windowSamples / 2) * this.samplePeriodMs);
        return;
      }
      p.triggerRun = 0;
      // Zero tracking and noise estimate: only while quiet, so an event never bends the baseline.
      p.baseline += (mean - p.baseline) * this.baselineAlpha;
      if (spread < 3 * p.noise || !p.measuredNoise) {
        p.noise = Math.max(s.minNoiseGrams, p.measuredNoise ? p.noise + (spread - p.noise) * this.noiseAlpha : spread);
        p.measuredNoise = true;
      }
      return;
    }

    // Active: wait for a quiet, flat run; its mean is the plate's new level.
    const quietSpread = Math.max(s.settleSpreadSigmas * p.noise, s.settleSpreadFloorGrams);
    const runMean = p.quietRun > 0 ? p.quietSum / p.quietRun : mean;
    const flat = Math.abs(mean - runMean) < Math.max(2 * p.noise / Math.sqrt(s.windowSamples), 0.8 * s.settleSpreadFloorGrams);
    if (spread < quietSpread && flat) {
      p.quietRun += 1;
      p.quietSum += grams;
    } else {
      p.quietRun = 0;
      p.quietSum = 0;
      p.lastDisturbedAt = at;
    }
  }

  private activate(i: number, since: number): void {
    const p = this.plates[i]!;
    p.active = true;
    p.triggerRun = 0;
    p.activeSince = since;
    p.lastDisturbedAt = since;
    p.quietRun = 0;
    p.quietSum = 0;
    p.lost = false;
    const facing = this.facings[i];
    const neighbours = [i - 1, i + 1]
      .filter((j) => j >= 0 && j < this.plates.length && this.facings[j] === facing)
      .map((j) => this.plates[j]!.group)
      .filter((g): g is Group => g !== undefined);
    let group = neighbours[0];
    if (!group) {
      group = { plates: new Set(), start: since, flags: new Set() };
      this.groups.add(group);
    }
    for (const other of neighbours.slice(1)) if (other !== group) this.merge(group, other);
    group.plates.add(i);
    group.start = Math.min(group.start, since);
    p.group = group;
  }

  private merge(into: Group, from: Group): void {
    for (const i of from.plates) {
      into.plates.add(i);
      this.plates[i]!.group = into;
    }
    for (const f of from.flags) into.flags.add(f);
    into.start = Math.min(into.start, from.start);
    this.groups.delete(from);
  }

  private maybeClose(group: Group, at: number): void {
    let settled = true;
    for (const i of group.plates) {
      const p = this.plates[i]!;
      if (!p.lost && p.quietRun < this.settings.settleSamples) {
        settled = false;
        break;
      }
    }
    if (settled) this.close(group, at);
    else if (at - group.start > this.settings.maxEventMs) {
      group.flags.add('unsettled');
      this.close(group, at);
    }
  }

  private close(group: Group, at: number): void {
    this.groups.delete(group);
    const indexes = [...group.plates].sort((a, b) => a - b);
    const deltas: number[] = [];
    let delta = 0;
    let variance = 0;
    let lastDisturbed = group.start;
    for (const i of indexes) {
      const p = this.plates[i]!;
      p.group = undefined;
      p.active = false;
      lastDisturbed = Math.max(lastDisturbed, p.lastDisturbedAt);
      const level = p.quietRun > 0 ? p.quietSum / p.quietRun : p.signal.mean();
      if (p.lost || Number.isNaN(level)) {
        deltas.push(NaN);
      } else {
        const d = level - p.baseline;
        deltas.push(d);
        delta += d;
        variance += (p.noise * p.noise) / Math.max(1, p.quietRun);
        p.baseline = level;
      }
      p.quietRun = 0;
      p.quietSum = 0;
      p.lost = false;
    }
    const noiseSigma = Math.sqrt(variance + (0.001 * delta) ** 2);
    const s = this.settings;
    if (Math.abs(delta) < Math.max(s.minEventGrams, s.minEventSigmas * noiseSigma)) return;
    this.onChange({
      shelf: this.shelf,
      plateIndexes: indexes,
      plateDeltas: deltas,
      tStart: group.start,
      tEnd: Math.min(at, lastDisturbed + this.samplePeriodMs),
      deltaGrams: delta,
      noiseSigma,
      flags: [...group.flags].sort(),
    });
  }
}
