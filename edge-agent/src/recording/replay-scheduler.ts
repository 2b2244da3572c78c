import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sleep } from '../backoff.js';
import type { VirtualClock } from '../clock.js';

/** Something that holds timed items of a recording: a serial capture, a camera's frames. */
export interface ReplaySource {
  readonly name: string;
  /** Store time of the next item, or undefined when the source is exhausted. */
  peek(): number | undefined;
  /** Hands the next item to its consumer; resolves once the consumer has it. */
  deliver(): void | Promise<void>;
  /** Drops the next item unseen (a replay resumed later in the recording); without it the item is delivered. */
  skip?(): void;
}

export interface ReplayProgress {
  delivered: number;
  /** Store time reached. */
  at: number;
}

/**
 * Merges every source of a recording in time order and moves the virtual store clock with it,
 * so the agent sees the same interleaving of samples, frames and gate events on every run —
 * the property that makes a replay reproduce the same facts byte for byte.
 *
 * `speed` paces delivery against wall time (1 = as recorded); `Infinity` runs as fast as the
 * consumers allow. Ties are broken by the order sources were added.
 */
export class ReplayScheduler {
  private readonly sources: ReplaySource[] = [];
  private delivered = 0;

  constructor(
    readonly clock: VirtualClock,
    private readonly speed: number = Infinity,
  ) {}

  add(source: ReplaySource): void {
    this.sources.push(source);
  }

  get progress(): ReplayProgress {
    return { delivered: this.delivered, at: this.clock.now() };
  }

  /**
   * Runs from the clock's time; items before it (a replay resumed after a crash) are skipped, as
   * a store's devices do not repeat what an agent missed while it was down.
   */
  async run(signal?: AbortSignal): Promise<ReplayProgress> {
    const from = this.clock.now();
    for (const s of this.sources) {
      for (let at = s.peek(); at !== undefined && at < from; at = s.peek()) {
        if (s.skip) s.skip();
        else {
          const pending = s.deliver();
          if (pending) await pending;
        }
      }
    }
    const wallStart = performance.now();
    const storeStart = this.clock.now();
    let sinceYield = 0;
    for (;;) {
      if (signal?.aborted) break;
      let best: ReplaySource | undefined;
      let bestAt = Infinity;
      for (const s of this.sources) {
        const at = s.peek();
        if (at !== undefined && at < bestAt) {
          best = s;
          bestAt = at;
        }
      }
      if (!best) break;
      if (Number.isFinite(this.speed)) {
        const due = (bestAt - storeStart) / this.speed - (performance.now() - wallStart);
        if (due > 1 && !(await sleep(due, signal))) break;
      }
      this.clock.advanceTo(bestAt);
      const pending = best.deliver();
      if (pending) await pending;
      this.delivered += 1;
      // Let timers and I/O (ffmpeg pipes, the admin server) run during a fast replay.
      if (++sinceYield >= 2_000) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
    return this.progress;
  }
}
