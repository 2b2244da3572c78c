/**
 * Capture files: the timestamped byte stream of one serial device, as received. Replaying one
 * through the device's own parser reproduces exactly what the agent saw.
 *
 *   "EDGECAP1"  uint32le n  <n bytes of JSON header>
 *   then records: float64le t (ms after header.startedAt)  uint32le length  <length bytes>
 */
import { closeSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';

const MAGIC = Buffer.from('EDGECAP1', 'latin1');
const RECORD_HEAD = 12;
const MAX_RECORD = 16 * 1024 * 1024;

export interface CaptureHeader {
  device: string;
  kind: string;
  /** Store time (ms since the epoch) that record times are relative to. */
  startedAt: number;
  createdBy: string;
}

export class CaptureWriter {
  private readonly fd: number;
  private buffer = Buffer.allocUnsafe(1 << 16);
  private used = 0;

  constructor(readonly file: string, readonly header: CaptureHeader) {
    this.fd = openSync(file, 'w');
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const head = Buffer.allocUnsafe(MAGIC.length + 4);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(json.length, MAGIC.length);
    writeSync(this.fd, head);
    writeSync(this.fd, json);
  }

  /** Appends bytes received at store time `at`. */
  append(at: number, data: Uint8Array): void {
    const need = RECORD_HEAD + data.length;
    if (this.used + need > this.buffer.length) this.flush();
    if (need > this.buffer.length) this.buffer = Buffer.allocUnsafe(need);
    this.buffer.writeDoubleLE(at - this.header.startedAt, this.used);
    this.buffer.writeUInt32LE(data.length, this.used + 8);
    this.buffer.set(data, this.used + RECORD_HEAD);
    this.used += need;
  }

  flush(): void {
    if (this.used === 0) return;
    writeSync(this.fd, this.buffer, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

export interface CaptureRecord {
  /** Store time of reception (ms since the epoch). */
  at: number;
  data: Buffer;
}

/**
 * Reads a capture record by record without loading the file. A truncated tail (a recorder that
 * was killed mid-write) ends the stream early and is described in `problem`; everything before
 * it is still returned.
 */
export class CaptureReader {
  readonly header: CaptureHeader;
  /** Set when the stream ended early, e.g. `truncated record 120 at byte 4096`. */
  problem: string | undefined;
  private readonly fd: number;
  private readonly size: number;
  private position: number;
  private chunk = Buffer.allocUnsafe(1 << 20);
  private chunkStart = 0;
  private chunkEnd = 0;
  private index = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    try {
      this.size = fstatSync(this.fd).size;
      const head = Buffer.alloc(MAGIC.length + 4);
      if (readSync(this.fd, head, 0, head.length, 0) < head.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
        throw new CaptureFormatError(`${file}: not a capture file (no EDGECAP1 header)`);
      }
      const n = head.readUInt32LE(MAGIC.length);
      const json = Buffer.alloc(n);
      if (n > 1 << 20 || readSync(this.fd, json, 0, n, head.length) < n) throw new CaptureFormatError(`${file}: capture header is truncated`);
      try {
        this.header = JSON.parse(json.toString('utf8')) as CaptureHeader;
      } catch {
        throw new CaptureFormatError(`${file}: capture header is not valid JSON`);
      }
      this.position = head.length + n;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** The next record, or undefined at the end (or at a truncated tail, see `problem`). */
  next(): CaptureRecord | undefined {
    if (this.position >= this.size) return undefined;
    const head = this.read(RECORD_HEAD);
    if (!head) return this.stop('truncated record header');
    const t = head.readDoubleLE(0);
    const length = head.readUInt32LE(8);
    if (!Number.isFinite(t) || length > MAX_RECORD) return this.stop('corrupt record header');
    this.position += RECORD_HEAD;
    const data = this.read(length);
    if (!data) return this.stop('truncated record');
    this.position += length;
    this.index += 1;
    return { at: this.header.startedAt + t, data: Buffer.from(data) };
  }

  close(): void {
    closeSync(this.fd);
  }

  private stop(what: string): undefined {
    this.problem = `${this.file}: ${what} ${this.index + 1} at byte ${this.position}; replaying the ${this.index} records before it`;
    this.position = this.size;
    return undefined;
  }

  private read(length: number): Buffer | undefined {
    if (this.position + length > this.size) return undefined;
    if (this.position < this.chunkStart || this.position + length > this.chunkEnd) {
      if (length > this.chunk.length) this.chunk = Buffer.allocUnsafe(length);
      const got = readSync(this.fd, this.chunk, 0, this.chunk.length, this.position);
      this.chunkStart = this.position;
      this.chunkEnd = this.position + got;
      if (got < length) return undefined;
    }
    return this.chunk.subarray(this.position - this.chunkStart, this.position - this.chunkStart + length);
  }
}
