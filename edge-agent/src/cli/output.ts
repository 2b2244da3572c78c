import type { ConfigIssue } from '../../../device-config/validate.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad input from the operator: a usage mistake or a configuration that cannot be used. */
export const EXIT_BAD_INPUT = 2;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** The machine-readable result: always the last line on stdout. */
export function printResult(io: CliIo, result: Record<string, unknown>): void {
  io.out(JSON.stringify(result));
}

export function printIssues(io: CliIo, issues: readonly ConfigIssue[], prefix = ''): void {
  for (const issue of issues) io.err(`${prefix}${issue.path || '/'}: ${issue.message}`);
}

/** `--from`/`--to` as ISO date-times (default: the last 24 hours); a bad pair is reported and gives the exit code. */
export function timeRange(options: { from?: string; to?: string }, io: CliIo): { from: number; to: number } | number {
  const to = options.to ? Date.parse(options.to) : Date.now();
  const from = options.from ? Date.parse(options.from) : to - 86_400_000;
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    io.err('error: --from and --to take ISO date-times, --from before --to');
    return EXIT_BAD_INPUT;
  }
  return { from, to };
}
