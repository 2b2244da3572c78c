/**
 * Splits a byte stream into LF-terminated lines, however the chunks cut them, in one reused
 * buffer. A trailing CR is dropped; a line longer than the buffer is reported as overlong instead
 * of stored. Text protocols (gates, ASCII RFID readers) parse what it hands over.
 */
const LF = 0x0a;
const CR = 0x0d;

export class LineFramer {
  /** The current line's bytes; valid in `onLine` until the next `push`. */
  readonly line: Buffer;
  private length = 0;
  private overlong = false;

  constructor(
    maxBytes: number,
    /** `length` bytes of `line` (without CR and LF), or `overlong` with nothing kept. */
    private readonly onLine: (length: number, overlong: boolean, receivedAt: number) => void,
  ) {
    this.line = Buffer.alloc(maxBytes);
  }

  push(chunk: Uint8Array, receivedAt: number): void {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      this.append(chunk, start, lf < 0 ? chunk.length : lf);
      if (lf < 0) return;
      start = lf + 1;
      this.endLine(receivedAt);
    }
  }

  /** Forgets a partial line, e.g. after a reconnect. */
  reset(): void {
    this.length = 0;
    this.overlong = false;
  }

  private append(chunk: Uint8Array, start: number, stop: number): void {
    if (this.overlong) return;
    const n = stop - start;
    // The LF is not stored, so a full line may use all but one byte of the buffer.
    if (this.length + n > this.line.length - 1) {
      this.overlong = true;
      return;
    }
    for (let i = 0; i < n; i++) this.line[this.length + i] = chunk[start + i]!;
    this.length += n;
  }

  private endLine(receivedAt: number): void {
    const overlong = this.overlong;
    let n = this.length;
    this.reset();
    if (overlong) n = 0;
    else if (n > 0 && this.line[n - 1] === CR) n -= 1;
    this.onLine(n, overlong, receivedAt);
  }
}
