/** A row or file of an AutoCheckout export that could not be used; the import goes on without it. */
export interface ImportProblem {
  file: string;
  /** 1-based line of the row; 0 when the problem is the whole file (e.g. its name). */
  line: number;
  message: string;
}

export type ImportProblemSink = (problem: ImportProblem) => void;

/** The export cannot be imported at all: a missing or unreadable file, a catalogue without its columns. */
export class AutoCheckoutImportError extends Error {
  override readonly name = 'AutoCheckoutImportError';

  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The reason an `open`/`read` failed, for messages: `ENOENT (no such file)`. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** The line csv-parse names in an error it skipped a row for; 0 when it names none. */
export function lineOfCsvError(err: unknown): number {
  const lines = (err as { lines?: unknown } | undefined)?.lines;
  return typeof lines === 'number' ? lines : 0;
}
