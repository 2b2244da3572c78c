import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** File descriptor the JSON lines go to. Defaults to stderr so stdout stays machine-readable. */
  fd?: number;
}

/**
 * The process-wide root logger. Modules take `root.child({ module: '…' })`; nothing else
 * creates a pino instance, so level and destination are decided once.
 */
export function createRootLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: options.fd ?? 2, sync: true }),
  );
}

/** A logger that drops everything: for tests and tools that only want results. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
