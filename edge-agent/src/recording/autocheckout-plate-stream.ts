/**
 * One plate's CSV of an AutoCheckout export (`<unix seconds>,<grams>` per row) read as a stream
 * into a fixed ring buffer of samples, so hours of 60 Hz data never sit in memory at once.
 */
import { open } from 'node:fs/promises';
import { parse, type Parser } from 'csv-parse';
import { AutoCheckoutImportError, describeFsError } from './autocheckout-problem.js';

const MAX_ABS_GRAMS = 100_000;
const MAX_BACKSTEP_MS = 1_000;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEADER_FIELD = /^"?[A-Za-z_]/;
const MAX_ROW_CHARS = 64 * 1024;

export interface PlateStreamCounts {
  /** Rows accepted as samples. */
  samples: number;
  /** Rows skipped as garbage (each one reported). */
  garbageRows: number;
  /** Rows less than a second older than the sample before them, kept at that sample's time. */
  reorderedRows: number;
  /** Store time (ms) of the first and last accepted sample; NaN before the first. */
  firstAt: number;
  lastAt: number;
}

export type RowProblemSink = (line: number, message: string) => void;

export class PlateSampleStream implements PlateStreamCounts {
  samples = 0;
  garbageRows = 0;
  reorderedRows = 0;
  firstAt = NaN;
  lastAt = NaN;

  private readonly times: Float64Array;
  private readonly grams: Float64Array;
  private head = 0;
  private count = 0;
  private parser: Parser | undefined;
  private release: (() => void) | undefined;
  private streamEnded = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private line = 0;
  private rowsSeen = 0;

  constructor(
    readonly file: string,
    private readonly onProblem: RowProblemSink,
    readonly capacity = 512,
  ) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`read-ahead of ${capacity} rows: needs an integer ≥ 2`);
    this.times = new Float64Array(capacity);
    this.grams = new Float64Array(capacity);
  }

  /** Opens the file; a missing or unreadable one is an error naming it. */
  async open(): Promise<void> {
    if (this.parser) return;
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      throw new AutoCheckoutImportError(this.file, `cannot open the plate's CSV (${describeFsError(err)})`, { cause: err });
    }
    const input = handle.createReadStream();
    // Without quoting every line is exactly one record, so counting records gives line numbers
    // without csv-parse's per-record `info` objects (the bulk of the parsing time otherwise).
    const parser = parse({
      bom: true,
      trim: true,
      quote: false,
      relax_column_count: true,
      max_record_size: MAX_ROW_CHARS,
    });
    input.on('error', (err) => parser.destroy(err));
    parser.on('error', (err) => {
      this.failure = err;
      this.wake?.();
    });
    parser.on('end', () => {
      this.streamEnded = true;
      this.wake?.();
    });
    parser.on('readable', () => this.wake?.());
    input.pipe(parser);
    this.parser = parser;
    this.release = () => {
      input.destroy();
      parser.destroy();
    };
  }

  /** Every row has been read and every sample taken from the buffer. */
  get ended(): boolean {
    return this.streamEnded && this.count === 0;
  }

  get size(): number {
    return this.count;
  }

  frontAt(): number {
    return this.times[this.head]!;
  }

  frontGrams(): number {
    return this.grams[this.head]!;
  }

  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
  }

  /** Reads rows until the buffer is full or the file ends. */
  async fill(): Promise<void> {
    const parser = this.parser;
    if (!parser) throw new Error(`${this.file}: open() before reading`);
    for (;;) {
      this.throwIfFailed();
      while (this.count < this.capacity) {
        const record = parser.read() as string[] | null;
        if (record === null) break;
        this.accept(record);
      }
      if (this.count === this.capacity || this.streamEnded) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  close(): void {
    this.release?.();
    this.release = undefined;
  }

  private throwIfFailed(): void {
    if (this.failure) throw new AutoCheckoutImportError(this.file, `cannot read the plate's CSV (${describeFsError(this.failure)})`, { cause: this.failure });
  }

  private accept(record: readonly string[]): void {
    const line = ++this.line;
    if (record.length === 1 && record[0] === '') return;
    const first = this.rowsSeen === 0;
    this.rowsSeen += 1;
    if (first && HEADER_FIELD.test(record[0] ?? '')) return;
    if (record.length !== 2) return this.garbage(line, `expected 2 fields "<unix seconds>,<grams>", found ${record.length}`);
    const secondsText = unquote(record[0]!);
    const gramsText = unquote(record[1]!);
    if (!DECIMAL.test(secondsText)) return this.garbage(line, `timestamp "${secondsText}" is not a number`);
    if (!DECIMAL.test(gramsText)) return this.garbage(line, `grams "${gramsText}" is not a number`);
    const seconds = Number(secondsText);
    const grams = Number(gramsText);
    if (!Number.isFinite(seconds) || !Number.isFinite(grams)) return this.garbage(line, 'value is not finite');
    if (seconds <= 0) return this.garbage(line, `timestamp ${secondsText} is not unix seconds`);
    if (Math.abs(grams) > MAX_ABS_GRAMS) return this.garbage(line, `${gramsText} g is beyond ±${MAX_ABS_GRAMS / 1000} kg`);
    let at = seconds * 1000;
    if (at < this.lastAt - MAX_BACKSTEP_MS) {
      return this.garbage(line, `timestamp goes back ${((this.lastAt - at) / 1000).toFixed(3)} s (more than ${MAX_BACKSTEP_MS / 1000} s)`);
    }
    if (at < this.lastAt) {
      at = this.lastAt;
      this.reorderedRows += 1;
    }
    const tail = (this.head + this.count) % this.capacity;
    this.times[tail] = at;
    this.grams[tail] = grams;
    this.count += 1;
    this.samples += 1;
    if (this.samples === 1) this.firstAt = at;
    this.lastAt = at;
  }

  private garbage(line: number, message: string): void {
    this.garbageRows += 1;
    this.onProblem(line, message);
  }
}

/** Some exporters quote every field; the quotes carry nothing in a numeric file. */
function unquote(field: string): string {
  return field.length >= 2 && field.charCodeAt(0) === 34 && field.charCodeAt(field.length - 1) === 34 ? field.slice(1, -1) : field;
}
