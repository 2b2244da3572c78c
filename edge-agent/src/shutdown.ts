import type { Logger } from './log.js';

export interface ShutdownOptions {
  /** Longest a graceful stop may take before the process exits anyway. */
  graceMs?: number;
  exit?: (code: number) => void;
}

/**
 * SIGTERM/SIGINT run `stop` once; a second signal, or a stop that outlives the grace period,
 * exits at once. Committed facts are safe either way (SQLite WAL); the grace period is for
 * in-flight work to finish and for a clean stop to be recorded.
 */
export function stopOnSignals(stop: (reason: string) => Promise<unknown>, log: Logger, options: ShutdownOptions = {}): () => void {
  const graceMs = options.graceMs ?? 15_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal during shutdown: exiting now');
      exit(130);
      return;
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'graceful shutdown took too long: exiting');
      exit(1);
    }, graceMs);
    timer.unref();
    void stop(signal).finally(() => clearTimeout(timer));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
