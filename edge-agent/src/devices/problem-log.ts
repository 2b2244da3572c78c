import type { Logger } from '../log.js';

/**
 * Logs a recurring problem at most once per interval, with how many were left out in between:
 * a device spewing garbage at 60 Hz must show in the log without flooding it.
 */
export class ProblemLog {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  report(fields: Record<string, unknown>, message: string): void {
    const now = performance.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.lastAt = now;
    this.log.warn({ ...fields, suppressedSinceLast: this.suppressed }, message);
    this.suppressed = 0;
  }
}
