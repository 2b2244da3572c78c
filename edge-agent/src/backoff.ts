/**
 * Retry delays for reconnecting devices and services: exponential with full jitter, capped, so
 * a fleet of adapters that lost the same bus does not reconnect in lock-step.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0 = exact delays, 1 = anywhere between 0 and the delay. */
  jitter: number;
}

export const DEVICE_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** A connection that worked at least this long earns a quick reconnect when it is lost. */
const STABLE_MS = 10_000;

export class Backoff {
  private attempt = 0;
  private upAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy = DEVICE_BACKOFF,
    private readonly random: () => number = Math.random,
    private readonly stableMs = STABLE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The device answered: the delays start over once it has kept working `stableMs`, so one that
   * accepts a connection and drops it at once (a busy ser2net port, a camera that sends one frame
   * and dies) is retried ever more slowly instead of several times a second.
   */
  up(): void {
    this.upAt ??= this.now();
  }

  /** Delay before the next attempt; each call grows it until `reset()` or a stable `up()`. */
  next(): number {
    if (this.upAt !== undefined && this.now() - this.upAt >= this.stableMs) this.attempt = 0;
    this.upAt = undefined;
    const base = Math.min(this.policy.maxMs, this.policy.initialMs * this.policy.factor ** this.attempt);
    this.attempt += 1;
    return Math.round(base * (1 - this.policy.jitter * this.random()));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
    this.upAt = undefined;
  }
}

/** Sleeps `ms`, or resolves early with `false` when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `attempt` until it succeeds or the signal aborts, waiting the policy's delays in
 * between; `onRetry` sees every failure (for logs and health counters).
 */
export async function withBackoff<T>(
  attempt: () => Promise<T>,
  options: { policy?: BackoffPolicy; signal?: AbortSignal; onRetry?: (err: unknown, delayMs: number, attempt: number) => void } = {},
): Promise<T | undefined> {
  const backoff = new Backoff(options.policy);
  for (;;) {
    if (options.signal?.aborted) return undefined;
    try {
      return await attempt();
    } catch (err) {
      const delay = backoff.next();
      options.onRetry?.(err, delay, backoff.attempts);
      if (!(await sleep(delay, options.signal))) return undefined;
    }
  }
}
