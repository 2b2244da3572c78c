/**
 * The single store clock every sample and fact is stamped with (ms since the epoch). Live, it is
 * wall time advanced by the monotonic clock, so an NTP step never makes a duration negative;
 * replaying, it is the recording's own time, driven by the replay scheduler.
 */
export interface StoreClock {
  now(): number;
}

export class LiveClock implements StoreClock {
  private readonly epochAtStart = Date.now();
  private readonly monoAtStart = performance.now();

  now(): number {
    return this.epochAtStart + (performance.now() - this.monoAtStart);
  }
}

export class VirtualClock implements StoreClock {
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  /** Moves time forward; time never runs backwards, whatever a source claims. */
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
  }
}
