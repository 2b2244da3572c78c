/**
 * One shelf of an AutoCheckout export replayed as shelf ticks. Its plates were sampled at about
 * the same instants but with their own timestamps, so the shelf gets its own 60 Hz grid starting
 * at its earliest sample, and each plate contributes, per grid instant, its sample nearest to it
 * (within half a period); without one its last value is held for up to `holdMs`, then NaN.
 *
 * The scheduler's `peek()` is synchronous but the CSVs are read as streams, so every plate keeps
 * a bounded read-ahead buffer (`PlateSampleStream`). `open()` primes them; `deliver()` stays
 * synchronous while the buffers hold the samples it needs and returns a promise only when one
 * ran dry and must be refilled (once per `readAheadRows` rows), so `peek()` always answers from
 * memory and memory stays bounded whatever the length of the recording.
 */
import type { ReplaySource } from './replay-scheduler.js';
import type { ShelfGramsSink, ShelfGramsTick } from '../shelf/shelf-tick.js';
import { PlateSampleStream } from './autocheckout-plate-stream.js';
import type { ImportProblem, ImportProblemSink } from './autocheckout-problem.js';

/** A plate's CSV in the export. */
export interface AutoCheckoutPlateFile {
  /** "G.S.P" */
  key: string;
  file: string;
}

export interface AutoCheckoutShelfOptions {
  rateHz?: number;
  /** How long a plate without a fresh sample keeps its last value before it reads NaN. */
  holdMs?: number;
  /** Rows buffered ahead per plate. */
  readAheadRows?: number;
  /** Problems kept in `problems` per file; all of them are counted and passed to `onProblem`. */
  maxProblemsPerFile?: number;
  onProblem?: ImportProblemSink;
}

export interface PlateImportSummary {
  plate: string;
  file: string;
  samples: number;
  garbageRows: number;
  reorderedRows: number;
  /** Store time (ms since the epoch) of the first and last sample; null without samples. */
  firstAt: number | null;
  lastAt: number | null;
  /** Ticks in which the plate's last value stood in for a missing sample, and ticks it was NaN. */
  heldTicks: number;
  missingTicks: number;
}

export interface ShelfImportSummary {
  shelf: string;
  ticks: number;
  plates: PlateImportSummary[];
}

interface PlateLane {
  readonly key: string;
  readonly index: number;
  readonly stream: PlateSampleStream;
  bestDistance: number;
  bestGrams: number;
  lastAt: number;
  lastGrams: number;
  heldTicks: number;
  missingTicks: number;
  problemsKept: number;
}

export class AutoCheckoutShelfSource implements ReplaySource {
  readonly name: string;
  /** The first `maxProblemsPerFile` problems of each file (all are counted in the summary). */
  readonly problems: ImportProblem[] = [];
  private readonly lanes: PlateLane[];
  private readonly tick: ShelfGramsTick;
  private readonly period: number;
  private readonly half: number;
  private readonly holdMs: number;
  private readonly maxProblemsPerFile: number;
  private readonly onProblem: ImportProblemSink | undefined;
  private origin = NaN;
  private k = 0;
  private ticks = 0;
  private opened = false;
  private finished = false;

  constructor(
    readonly shelf: string,
    plates: readonly AutoCheckoutPlateFile[],
    private readonly sink: ShelfGramsSink,
    options: AutoCheckoutShelfOptions = {},
  ) {
    const rateHz = options.rateHz ?? 60;
    if (!(rateHz > 0 && rateHz <= 10_000)) throw new RangeError(`rateHz ${rateHz}: needs 0 < rate ≤ 10000`);
    this.period = 1000 / rateHz;
    this.half = this.period / 2;
    this.holdMs = options.holdMs ?? 500;
    this.maxProblemsPerFile = options.maxProblemsPerFile ?? 100;
    this.onProblem = options.onProblem;
    this.name = `autocheckout shelf ${shelf}`;
    if (plates.length === 0) throw new RangeError(`shelf ${shelf}: no plate files`);

    const seen = new Set<number>();
    this.lanes = plates.map(({ key, file }) => {
      const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(key);
      if (!m || `${m[1]}.${m[2]}` !== shelf) throw new RangeError(`plate "${key}" is not on shelf ${shelf}`);
      const plateNo = Number(m[3]);
      if (plateNo < 1 || seen.has(plateNo)) throw new RangeError(`plate "${key}" is numbered 0 or given twice`);
      seen.add(plateNo);
      const lane: PlateLane = {
        key,
        index: plateNo - 1,
        stream: new PlateSampleStream(file, (line, message) => this.report(lane, line, message), options.readAheadRows),
        bestDistance: Infinity,
        bestGrams: NaN,
        lastAt: -Infinity,
        lastGrams: NaN,
        heldTicks: 0,
        missingTicks: 0,
        problemsKept: 0,
      };
      return lane;
    });
    this.lanes.sort((a, b) => a.index - b.index);
    const plateCount = this.lanes[this.lanes.length - 1]!.index + 1;
    this.tick = { shelf, at: NaN, grams: new Float64Array(plateCount).fill(NaN) };
  }

  /** Opens every plate's file and primes its read-ahead; a missing or unreadable file throws, naming it. */
  async open(): Promise<void> {
    if (this.opened) return;
    try {
      for (const lane of this.lanes) await lane.stream.open();
      await Promise.all(this.lanes.map((lane) => lane.stream.fill()));
    } catch (err) {
      this.close();
      throw err;
    }
    let earliest = Infinity;
    for (const lane of this.lanes) if (lane.stream.size > 0) earliest = Math.min(earliest, lane.stream.frontAt());
    this.origin = earliest;
    this.finished = earliest === Infinity;
    this.opened = true;
  }

  close(): void {
    for (const lane of this.lanes) lane.stream.close();
  }

  peek(): number | undefined {
    if (!this.opened) throw new Error(`${this.name}: open() before replaying`);
    return this.finished ? undefined : this.gridAt(this.k);
  }

  deliver(): void | Promise<void> {
    if (this.finished || !this.opened) return;
    const at = this.gridAt(this.k);
    for (let i = 0; i < this.lanes.length; i++) {
      if (!this.takeWindow(this.lanes[i]!, at)) return this.deliverAfterRefill(i, at);
    }
    return this.emit(at);
  }

  summary(): ShelfImportSummary {
    return {
      shelf: this.shelf,
      ticks: this.ticks,
      plates: this.lanes.map(({ key, stream, heldTicks, missingTicks }) => ({
        plate: key,
        file: stream.file,
        samples: stream.samples,
        garbageRows: stream.garbageRows,
        reorderedRows: stream.reorderedRows,
        firstAt: stream.samples > 0 ? stream.firstAt : null,
        lastAt: stream.samples > 0 ? stream.lastAt : null,
        heldTicks,
        missingTicks,
      })),
    };
  }

  private gridAt(k: number): number {
    return this.origin + k * this.period;
  }

  private async deliverAfterRefill(from: number, at: number): Promise<void> {
    for (let i = from; i < this.lanes.length; i++) {
      const lane = this.lanes[i]!;
      while (!this.takeWindow(lane, at)) await lane.stream.fill();
    }
    await this.emit(at);
  }

  /**
   * Takes the plate's samples before the end of the window around `at`, keeping the nearest one
   * inside it. False when the read-ahead ran dry before the window's end was known.
   */
  private takeWindow(lane: PlateLane, at: number): boolean {
    const stream = lane.stream;
    const end = at + this.half;
    const start = at - this.half;
    while (stream.size > 0) {
      const t = stream.frontAt();
      if (t >= end) return true;
      const grams = stream.frontGrams();
      stream.shift();
      const distance = Math.abs(t - at);
      if (t >= start && distance < lane.bestDistance) {
        lane.bestDistance = distance;
        lane.bestGrams = grams;
      }
      lane.lastAt = t;
      lane.lastGrams = grams;
    }
    return stream.ended;
  }

  private emit(at: number): void | Promise<void> {
    const grams = this.tick.grams;
    let missing = 0;
    for (const lane of this.lanes) {
      let value: number;
      if (lane.bestDistance !== Infinity) {
        value = lane.bestGrams;
      } else if (at - lane.lastAt <= this.holdMs) {
        value = lane.lastGrams;
        lane.heldTicks += 1;
      } else {
        value = NaN;
        lane.missingTicks += 1;
        missing += 1;
      }
      grams[lane.index] = value;
      lane.bestDistance = Infinity;
    }
    this.tick.at = at;
    this.ticks += 1;
    this.k += 1;
    this.sink(this.tick);
    const silent = missing === this.lanes.length;
    for (const lane of this.lanes) {
      if (lane.stream.size === 0 && !lane.stream.ended) return this.refillThenSettle(silent);
    }
    this.settle(silent);
  }

  private async refillThenSettle(silent: boolean): Promise<void> {
    for (const lane of this.lanes) if (lane.stream.size === 0 && !lane.stream.ended) await lane.stream.fill();
    this.settle(silent);
  }

  /**
   * Ends the replay when every plate is read out; after a tick in which every plate read NaN,
   * jumps the grid (keeping its phase) to the next sample instead of emitting empty ticks
   * through a pause in the recording.
   */
  private settle(silent: boolean): void {
    let next = Infinity;
    for (const lane of this.lanes) if (lane.stream.size > 0) next = Math.min(next, lane.stream.frontAt());
    if (next === Infinity) {
      this.finished = true;
      return;
    }
    if (silent) this.k = Math.max(this.k, Math.floor((next - this.origin) / this.period + 0.5));
  }

  private report(lane: PlateLane, line: number, message: string): void {
    const problem: ImportProblem = { file: lane.stream.file, line, message };
    if (lane.problemsKept < this.maxProblemsPerFile) {
      lane.problemsKept += 1;
      this.problems.push(problem);
    }
    this.onProblem?.(problem);
  }
}
