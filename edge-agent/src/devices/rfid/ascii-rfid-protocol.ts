/**
 * Fixed readers in ASCII mode (spec: ./README.md): one read per line. The default grammar is
 * parsed straight from the bytes; a configured `linePattern` (named groups `epc`, `antenna`,
 * `rssi`) replaces it for readers that print something else.
 */
import { LineFramer } from '../serial/line-framer.js';

/** Longest line accepted, terminator included; longer lines are dropped whole. */
export const ASCII_RFID_MAX_LINE_BYTES = 256;
export const ASCII_EPC_MIN_DIGITS = 8;
export const ASCII_EPC_MAX_DIGITS = 62;
/** The antenna of a line that names none. */
export const ASCII_DEFAULT_ANTENNA = 1;

/**
 * The default grammar as a regular expression, for documentation and for checking the
 * byte parser against: `EPC [SEP ANTENNA [SEP RSSI]]`, surrounding blanks allowed.
 */
export const DEFAULT_RFID_LINE_PATTERN = String.raw`^[ \t]*(?<epc>(?:[0-9A-Fa-f]{2}){4,31})(?:[ \t,;]+(?<antenna>[0-9]{1,2})(?:[ \t,;]+(?<rssi>-[0-9]{1,3}(?:\.[0-9]{1,3})?))?)?[ \t]*$`;

export interface AsciiTagFields {
  epc: string;
  antenna?: number;
  /** Negative dBm; written with one decimal. */
  rssi?: number;
}

/** One read, in a structure the decoder reuses: copy what you keep. */
export interface AsciiTagRead {
  /** Upper-case hex. */
  epc: string;
  antenna: number;
  /** dBm; NaN when the line has none. */
  rssi: number;
  receivedAt: number;
}

export interface AsciiRfidCounters {
  bytes: number;
  /** Terminated lines, blank ones included. */
  lines: number;
  blank: number;
  reads: number;
  /** Lines that do not follow the grammar (or the configured pattern), or hold non-printable bytes. */
  malformed: number;
  overlong: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const MINUS = 0x2d;
const DOT = 0x2e;
const HEX_EPC = /^(?:[0-9A-Fa-f]{2}){4,31}$/;
const ANTENNA = /^[0-9]{1,2}$/;

export function encodeAsciiTagLine(tag: AsciiTagFields, eol: '\n' | '\r\n' = '\r\n'): Buffer {
  if (!HEX_EPC.test(tag.epc)) throw new RangeError(`EPC must be ${ASCII_EPC_MIN_DIGITS}–${ASCII_EPC_MAX_DIGITS} hex digits in whole bytes: "${tag.epc}"`);
  let line = tag.epc.toUpperCase();
  if (tag.antenna !== undefined || tag.rssi !== undefined) {
    const antenna = tag.antenna ?? ASCII_DEFAULT_ANTENNA;
    if (!Number.isInteger(antenna) || antenna < 0 || antenna > 99) throw new RangeError(`antenna must be 0–99, not ${antenna}`);
    line += `,${antenna}`;
  }
  if (tag.rssi !== undefined) {
    const rssi = tag.rssi.toFixed(1);
    if (!/^-[0-9]{1,3}\.[0-9]$/.test(rssi)) throw new RangeError(`rssi must be negative dBm above −1000, not ${tag.rssi}`);
    line += `,${rssi}`;
  }
  return Buffer.from(line + eol, 'latin1');
}

/** Compiles a configured pattern; throws a clear error when it cannot serve. */
export function compileLinePattern(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new Error(`linePattern is not a regular expression: ${(err as Error).message}`, { cause: err });
  }
  if (!/\(\?<epc>/.test(pattern)) throw new Error('linePattern needs a named group (?<epc>…)');
  return re;
}

const isBlank = (b: number) => b === SPACE || b === TAB;
const isSeparator = (b: number) => b === SPACE || b === TAB || b === COMMA || b === SEMICOLON;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Streaming decoder: lines may be split across chunks anywhere; bad lines are counted and skipped. */
export class AsciiRfidDecoder {
  readonly counters: AsciiRfidCounters = { bytes: 0, lines: 0, blank: 0, reads: 0, malformed: 0, overlong: 0 };
  private readonly framer = new LineFramer(ASCII_RFID_MAX_LINE_BYTES, (length, overlong, receivedAt) => this.endLine(length, overlong, receivedAt));
  private readonly line = this.framer.line;
  private readonly pattern: RegExp | undefined;
  private readonly read: AsciiTagRead = { epc: '', antenna: ASCII_DEFAULT_ANTENNA, rssi: Number.NaN, receivedAt: 0 };

  constructor(
    private readonly onRead: (read: AsciiTagRead) => void,
    linePattern?: string,
  ) {
    this.pattern = linePattern === undefined ? undefined : compileLinePattern(linePattern);
  }

  push(chunk: Uint8Array, receivedAt: number): void {
    this.counters.bytes += chunk.length;
    this.framer.push(chunk, receivedAt);
  }

  /** Forgets a partial line, e.g. after a reconnect. */
  reset(): void {
    this.framer.reset();
  }

  private endLine(end: number, overlong: boolean, receivedAt: number): void {
    const c = this.counters;
    c.lines += 1;
    if (overlong) {
      c.overlong += 1;
      return;
    }
    let blank = true;
    for (let i = 0; i < end; i++) {
      const b = this.line[i]!;
      if ((b < 0x20 || b > 0x7e) && b !== TAB) {
        c.malformed += 1;
        return;
      }
      if (!isBlank(b)) blank = false;
    }
    if (blank) {
      c.blank += 1;
      return;
    }
    const ok = this.pattern ? this.matchPattern(this.pattern, end) : this.parseDefault(end);
    if (!ok) {
      c.malformed += 1;
      return;
    }
    this.read.receivedAt = receivedAt;
    c.reads += 1;
    this.onRead(this.read);
  }

  /** The default grammar, from the bytes; fills `this.read` and says whether the line follows it. */
  private parseDefault(end: number): boolean {
    const line = this.line;
    let p = 0;
    while (p < end && isBlank(line[p]!)) p++;
    const epcStart = p;
    while (p < end && isHex(line[p]!)) p++;
    const digits = p - epcStart;
    if (digits < ASCII_EPC_MIN_DIGITS || digits > ASCII_EPC_MAX_DIGITS || digits % 2 !== 0) return false;
    const epcEnd = p;
    let antenna = ASCII_DEFAULT_ANTENNA;
    let rssi = Number.NaN;
    let fieldsEnd = p;
    p = this.skipSeparators(p, end);
    if (p < end && p > fieldsEnd && isDigit(line[p]!)) {
      antenna = line[p++]! - 0x30;
      if (p < end && isDigit(line[p]!)) antenna = antenna * 10 + (line[p++]! - 0x30);
      fieldsEnd = p;
      p = this.skipSeparators(p, end);
      if (p < end && p > fieldsEnd && line[p] === MINUS) {
        const rssiStart = p++;
        let whole = 0;
        while (p < end && isDigit(line[p]!) && whole < 4) {
          whole++;
          p++;
        }
        if (whole === 0 || whole > 3) return false;
        if (p < end && line[p] === DOT) {
          p++;
          let fraction = 0;
          while (p < end && isDigit(line[p]!) && fraction < 4) {
            fraction++;
            p++;
          }
          if (fraction === 0 || fraction > 3) return false;
        }
        rssi = Number(line.toString('latin1', rssiStart, p));
        fieldsEnd = p;
      }
    }
    // Only blanks may follow the last field; a trailing separator like `,` is not a field.
    for (let i = fieldsEnd; i < end; i++) if (!isBlank(line[i]!)) return false;
    this.read.epc = upperHex(line, epcStart, epcEnd);
    this.read.antenna = antenna;
    this.read.rssi = rssi;
    return true;
  }

  private skipSeparators(p: number, end: number): number {
    while (p < end && isSeparator(this.line[p]!)) p++;
    return p;
  }

  private matchPattern(pattern: RegExp, end: number): boolean {
    const m = pattern.exec(this.line.toString('latin1', 0, end));
    const groups = m?.groups;
    const epc = groups?.['epc'];
    if (!groups || epc === undefined || !HEX_EPC.test(epc)) return false;
    const antenna = groups['antenna'];
    const rssi = groups['rssi'];
    if (antenna !== undefined && antenna !== '' && !ANTENNA.test(antenna)) return false;
    const rssiValue = rssi === undefined || rssi === '' ? Number.NaN : Number(rssi);
    if (rssi !== undefined && rssi !== '' && !Number.isFinite(rssiValue)) return false;
    this.read.epc = epc.toUpperCase();
    this.read.antenna = antenna === undefined || antenna === '' ? ASCII_DEFAULT_ANTENNA : Number(antenna);
    this.read.rssi = rssiValue;
    return true;
  }
}

function upperHex(line: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const b = line[i]!;
    if (b >= 0x61) line[i] = b - 0x20;
  }
  return line.toString('latin1', start, end);
}
