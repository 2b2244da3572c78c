/**
 * The shelf-controller line protocol (spec: ./README.md): `$<type>,<fields>*<CRC16>\r\n`.
 * Encoders for every message (the simulator speaks through them) and a streaming decoder whose
 * sample path parses digits straight from the bytes into one reused structure.
 */

/** Plates one controller can serve (fields on a sample line). */
export const SCALE_MAX_PLATES = 32;
/** Longest line accepted, from `$` to LF inclusive; a conforming line never exceeds 314. */
export const SCALE_MAX_LINE_BYTES = 320;
/** Signed 24-bit range of the HX711; its two ends are what it reads when saturated. */
export const ADC_MIN = -8_388_608;
export const ADC_MAX = 8_388_607;

export const SCALE_STATUS_CODES = {
  1: 'BOOT',
  2: 'PLATE_OK',
  3: 'ACK',
  4: 'BUTTON',
} as const satisfies Record<number, string>;

export const SCALE_ERROR_CODES = {
  101: 'PLATE_FAULT',
  102: 'ADC_TIMEOUT',
  103: 'BROWN_OUT',
  104: 'OVERRUN',
  105: 'BAD_COMMAND',
} as const satisfies Record<number, string>;

export const SCALE_COMMANDS = ['ID', 'PING', 'RESET'] as const;

/** One sample line, delivered in a structure the decoder reuses: copy what you keep. */
export interface ScaleSample {
  /** Controller clock, ms since boot (uint32, wraps). */
  deviceTs: number;
  /** 16-bit sample counter (wraps); a gap means samples were lost. */
  seq: number;
  /** Plate fields on the line; `raw` and `plateError` hold this many. */
  plateCount: number;
  /** Raw counts, plate n at n-1; clamped to int32 when a field is larger. */
  raw: Int32Array;
  /** 1 where the controller sent the error marker `E` instead of a value. */
  plateError: Uint8Array;
  /** Store time of reception. */
  receivedAt: number;
}

export interface ScaleIdentity {
  firmware: string;
  serial: string;
  plateCount: number;
  sampleRateHz: number;
}

/** A status (`N`) or error (`E`) line. */
export interface ScaleNotice {
  deviceTs: number;
  code: number;
  /** 1-based plate the notice is about; 0 for the whole controller. */
  plate: number;
  text: string;
}

/** A notice to encode; the text may be left out. */
export type ScaleNoticeFields = Omit<ScaleNotice, 'text'> & { text?: string };

export interface ScaleCommand {
  name: string;
  arg?: string;
}

export interface ScaleLineHandlers {
  sample?(sample: ScaleSample): void;
  identity?(identity: ScaleIdentity, receivedAt: number): void;
  status?(notice: ScaleNotice, receivedAt: number): void;
  error?(notice: ScaleNotice, receivedAt: number): void;
  /** Host → controller lines; the simulator decodes them with the same decoder. */
  command?(command: ScaleCommand, receivedAt: number): void;
}

export interface ScaleLineCounters {
  bytes: number;
  /** Lines that ended (LF, or cut short by the next `$`), valid or not. */
  lines: number;
  samples: number;
  identities: number;
  statuses: number;
  errors: number;
  commands: number;
  /** Bytes outside any line (between a LF and the next `$`). */
  garbageBytes: number;
  /** Non-empty lines that never had a `$`. */
  missingStart: number;
  overlong: number;
  checksumErrors: number;
  /** No `*` + 4 hex digits at the end, or a line cut short by a new `$`. */
  badFraming: number;
  badFieldCount: number;
  /** A field that is not a number of its kind and range, or text with forbidden characters. */
  nonNumeric: number;
  unknownType: number;
}

const DOLLAR = 0x24;
const STAR = 0x2a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const CR = 0x0d;
const LF = 0x0a;
const ZERO = 0x30;
const LETTER_E = 0x45;

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;
const INT32_MIN = -0x8000_0000;
const TEXT_MAX = 64;
const NAME_MAX = 32;

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR). */
export function crc16CcittFalse(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ data[i]!) & 0xff]!;
  return crc;
}

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Room for the longest sample line an encoder can write: 32 plates of int32 values (fault injection). */
export const SAMPLE_LINE_CAPACITY = 420;

// ---------------------------------------------------------------------------------------------
// Encoding

export interface ScaleSampleFields {
  deviceTs: number;
  seq: number;
  raw: ArrayLike<number>;
  /** Non-zero where the plate sends the error marker. */
  plateError?: ArrayLike<number>;
  /** Plates to send (default `raw.length`). */
  plateCount?: number;
}

/**
 * Writes one sample line into `out` at `offset` without allocating and returns the offset after
 * it. Plate values are written as given (the simulator injects faults through them).
 */
export function writeSampleLine(out: Buffer, offset: number, sample: ScaleSampleFields): number {
  const count = sample.plateCount ?? sample.raw.length;
  if (!Number.isInteger(count) || count < 1 || count > SCALE_MAX_PLATES) throw new RangeError(`a sample line carries 1–${SCALE_MAX_PLATES} plates, not ${count}`);
  checkUnsigned('deviceTs', sample.deviceTs, UINT32_MAX);
  checkUnsigned('seq', sample.seq, 0xffff);
  if (out.length - offset < SAMPLE_LINE_CAPACITY) throw new RangeError(`writeSampleLine needs ${SAMPLE_LINE_CAPACITY} bytes of room`);
  let p = offset;
  out[p++] = DOLLAR;
  const bodyStart = p;
  out[p++] = 0x53; // S
  out[p++] = COMMA;
  p = writeInt(out, p, sample.deviceTs);
  out[p++] = COMMA;
  p = writeInt(out, p, sample.seq);
  for (let i = 0; i < count; i++) {
    out[p++] = COMMA;
    if (sample.plateError?.[i]) out[p++] = LETTER_E;
    else {
      const v = sample.raw[i];
      if (v === undefined || !Number.isInteger(v) || v > INT32_MAX || v < INT32_MIN) throw new RangeError(`plate ${i + 1}: ${v} is not an int32 count`);
      p = writeInt(out, p, v);
    }
  }
  return finishLine(out, bodyStart, p);
}

/** One sample line as its own buffer (allocates; `writeSampleLine` does not). */
export function encodeSampleLine(sample: ScaleSampleFields): Buffer {
  const scratch = Buffer.allocUnsafe(SAMPLE_LINE_CAPACITY);
  const end = writeSampleLine(scratch, 0, sample);
  return Buffer.from(scratch.subarray(0, end));
}

export function encodeIdentityLine(identity: ScaleIdentity): Buffer {
  checkName('firmware', identity.firmware);
  checkName('serial', identity.serial);
  checkRange('plateCount', identity.plateCount, 1, SCALE_MAX_PLATES);
  checkRange('sampleRateHz', identity.sampleRateHz, 1, 10_000);
  return lineOf(`I,${identity.firmware},${identity.serial},${identity.plateCount},${identity.sampleRateHz}`);
}

export function encodeStatusLine(notice: ScaleNoticeFields): Buffer {
  return lineOf(`N,${noticeBody(notice)}`);
}

export function encodeErrorLine(notice: ScaleNoticeFields): Buffer {
  return lineOf(`E,${noticeBody(notice)}`);
}

export function encodeCommandLine(command: ScaleCommand): Buffer {
  if (!/^[A-Z]{1,16}$/.test(command.name)) throw new RangeError(`command name "${command.name}" must be 1–16 upper-case letters`);
  if (command.arg !== undefined) checkName('command argument', command.arg);
  return lineOf(command.arg === undefined ? `C,${command.name}` : `C,${command.name},${command.arg}`);
}

function noticeBody(n: ScaleNoticeFields): string {
  checkUnsigned('deviceTs', n.deviceTs, UINT32_MAX);
  checkRange('code', n.code, 1, 999);
  checkRange('plate', n.plate, 0, SCALE_MAX_PLATES);
  const text = n.text ?? '';
  if (text.length > TEXT_MAX || !isText(text, true)) throw new RangeError(`notice text must be ≤ ${TEXT_MAX} printable ASCII characters without $ * ,`);
  return text === '' ? `${n.deviceTs},${n.code},${n.plate}` : `${n.deviceTs},${n.code},${n.plate},${text}`;
}

function lineOf(body: string): Buffer {
  const out = Buffer.allocUnsafe(body.length + 8);
  out[0] = DOLLAR;
  out.write(body, 1, 'latin1');
  return out.subarray(0, finishLine(out, 1, 1 + body.length));
}

/** Appends `*HHHH\r\n` over the body [bodyStart, end) and returns the new end. */
function finishLine(out: Buffer, bodyStart: number, end: number): number {
  const crc = crc16CcittFalse(out, bodyStart, end);
  out[end] = STAR;
  out[end + 1] = HEX[(crc >> 12) & 0xf]!;
  out[end + 2] = HEX[(crc >> 8) & 0xf]!;
  out[end + 3] = HEX[(crc >> 4) & 0xf]!;
  out[end + 4] = HEX[crc & 0xf]!;
  out[end + 5] = CR;
  out[end + 6] = LF;
  return end + 7;
}

function writeInt(out: Buffer, p: number, value: number): number {
  let v = value;
  if (v < 0) {
    out[p++] = MINUS;
    v = -v;
  }
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    out[p + i] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  }
  return p + digits;
}

function checkUnsigned(what: string, v: number, max: number): void {
  checkRange(what, v, 0, max);
}

function checkRange(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} must be an integer in ${min}–${max}, not ${v}`);
}

function checkName(what: string, s: string): void {
  if (s.length < 1 || s.length > NAME_MAX || !isText(s, false)) throw new RangeError(`${what} "${s}" must be 1–${NAME_MAX} printable ASCII characters without spaces, $ * ,`);
}

function isText(s: string, spaces: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    if (!textByteOk(s.charCodeAt(i), spaces)) return false;
  }
  return true;
}

function textByteOk(c: number, spaces: boolean): boolean {
  return (c > 0x20 || (spaces && c === 0x20)) && c < 0x7f && c !== DOLLAR && c !== STAR && c !== COMMA;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decoder states: between lines (waiting for `$`), inside a line, past the length limit (dropping bytes until LF). */
const IDLE = 0;
const IN_LINE = 1;
const OVERLONG = 2;

/** Bytes kept between `$` and LF: the line limit minus those two. */
const BODY_CAPACITY = SCALE_MAX_LINE_BYTES - 2;

export function newScaleLineCounters(): ScaleLineCounters {
  return {
    bytes: 0,
    lines: 0,
    samples: 0,
    identities: 0,
    statuses: 0,
    errors: 0,
    commands: 0,
    garbageBytes: 0,
    missingStart: 0,
    overlong: 0,
    checksumErrors: 0,
    badFraming: 0,
    badFieldCount: 0,
    nonNumeric: 0,
    unknownType: 0,
  };
}

/**
 * Streaming decoder: feed it chunks as they arrive, in any split. Every bad line is counted by
 * kind and skipped; a `$` always starts a new line, so the decoder resynchronises on the next
 * line whatever garbage came before.
 */
export class ScaleLineDecoder {
  readonly counters: ScaleLineCounters = newScaleLineCounters();
  private readonly line = Buffer.alloc(BODY_CAPACITY);
  private length = 0;
  private state: typeof IDLE | typeof IN_LINE | typeof OVERLONG = IDLE;
  private garbageInLine = 0;
  private readonly sample: ScaleSample = {
    deviceTs: 0,
    seq: 0,
    plateCount: 0,
    raw: new Int32Array(SCALE_MAX_PLATES),
    plateError: new Uint8Array(SCALE_MAX_PLATES),
    receivedAt: 0,
  };
  /** Field cursor of the line being parsed (kept on the instance so parsing allocates nothing). */
  private pos = 0;
  private end = 0;

  constructor(private readonly handlers: ScaleLineHandlers) {}

  push(chunk: Uint8Array, receivedAt: number): void {
    const c = this.counters;
    c.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === DOLLAR) {
        if (this.state === IN_LINE) {
          c.lines += 1;
          c.badFraming += 1;
        } else if (this.state === OVERLONG) c.lines += 1;
        this.state = IN_LINE;
        this.length = 0;
        this.garbageInLine = 0;
      } else if (b === LF) {
        if (this.state === IN_LINE) {
          c.lines += 1;
          this.parseLine(receivedAt);
        } else if (this.state === OVERLONG) c.lines += 1;
        else if (this.garbageInLine > 0) {
          c.lines += 1;
          c.missingStart += 1;
        }
        this.state = IDLE;
        this.garbageInLine = 0;
      } else if (this.state === IN_LINE) {
        if (this.length < BODY_CAPACITY) this.line[this.length++] = b;
        else {
          c.overlong += 1;
          this.state = OVERLONG;
        }
      } else if (this.state === IDLE && b !== CR) {
        c.garbageBytes += 1;
        this.garbageInLine += 1;
      }
    }
  }

  /** Forgets a partial line, e.g. after a reconnect. */
  reset(): void {
    this.state = IDLE;
    this.length = 0;
    this.garbageInLine = 0;
  }

  private parseLine(receivedAt: number): void {
    const line = this.line;
    const c = this.counters;
    let end = this.length;
    if (end > 0 && line[end - 1] === CR) end -= 1;
    // Shortest frame: one type letter, `*`, four hex digits.
    if (end < 6 || line[end - 5] !== STAR) {
      c.badFraming += 1;
      return;
    }
    const given = hex4(line, end - 4);
    if (given < 0) {
      c.badFraming += 1;
      return;
    }
    const bodyEnd = end - 5;
    if (crc16CcittFalse(line, 0, bodyEnd) !== given) {
      c.checksumErrors += 1;
      return;
    }
    if (bodyEnd > 1 && line[1] !== COMMA) {
      c.unknownType += 1;
      return;
    }
    let fields = 1;
    for (let i = 1; i < bodyEnd; i++) if (line[i] === COMMA) fields += 1;
    this.pos = 2;
    this.end = bodyEnd;
    switch (line[0]) {
      case 0x53: // S
        return this.parseSample(fields, receivedAt);
      case 0x49: // I
        return this.parseIdentity(fields, receivedAt);
      case 0x4e: // N
      case LETTER_E:
        return this.parseNotice(fields, line[0] === LETTER_E, receivedAt);
      case 0x43: // C
        return this.parseCommand(fields, receivedAt);
      default:
        c.unknownType += 1;
    }
  }

  private parseSample(fields: number, receivedAt: number): void {
    const plates = fields - 3;
    if (plates < 1 || plates > SCALE_MAX_PLATES) {
      this.counters.badFieldCount += 1;
      return;
    }
    const s = this.sample;
    const deviceTs = this.unsignedField(UINT32_MAX);
    const seq = deviceTs < 0 ? -1 : this.unsignedField(0xffff);
    if (seq < 0) {
      this.counters.nonNumeric += 1;
      return;
    }
    for (let i = 0; i < plates; i++) {
      if (!this.plateField(i)) {
        this.counters.nonNumeric += 1;
        return;
      }
    }
    s.deviceTs = deviceTs;
    s.seq = seq;
    s.plateCount = plates;
    s.receivedAt = receivedAt;
    this.counters.samples += 1;
    this.handlers.sample?.(s);
  }

  private parseIdentity(fields: number, receivedAt: number): void {
    if (fields !== 5) {
      this.counters.badFieldCount += 1;
      return;
    }
    const firmware = this.textField(1, NAME_MAX, false);
    const serial = firmware === undefined ? undefined : this.textField(1, NAME_MAX, false);
    const plateCount = serial === undefined ? -1 : this.unsignedField(SCALE_MAX_PLATES);
    const sampleRateHz = plateCount < 1 ? -1 : this.unsignedField(10_000);
    if (firmware === undefined || serial === undefined || plateCount < 1 || sampleRateHz < 1) {
      this.counters.nonNumeric += 1;
      return;
    }
    this.counters.identities += 1;
    this.handlers.identity?.({ firmware, serial, plateCount, sampleRateHz }, receivedAt);
  }

  private parseNotice(fields: number, isError: boolean, receivedAt: number): void {
    if (fields !== 4 && fields !== 5) {
      this.counters.badFieldCount += 1;
      return;
    }
    const deviceTs = this.unsignedField(UINT32_MAX);
    const code = deviceTs < 0 ? -1 : this.unsignedField(999);
    const plate = code < 1 ? -1 : this.unsignedField(SCALE_MAX_PLATES);
    const text = plate < 0 ? undefined : fields === 5 ? this.textField(0, TEXT_MAX, true) : '';
    if (text === undefined) {
      this.counters.nonNumeric += 1;
      return;
    }
    const notice: ScaleNotice = { deviceTs, code, plate, text };
    if (isError) {
      this.counters.errors += 1;
      this.handlers.error?.(notice, receivedAt);
    } else {
      this.counters.statuses += 1;
      this.handlers.status?.(notice, receivedAt);
    }
  }

  private parseCommand(fields: number, receivedAt: number): void {
    if (fields !== 2 && fields !== 3) {
      this.counters.badFieldCount += 1;
      return;
    }
    const name = this.textField(1, 16, false);
    const arg = name === undefined ? undefined : fields === 3 ? this.textField(1, NAME_MAX, false) : '';
    if (name === undefined || arg === undefined || !/^[A-Z]+$/.test(name)) {
      this.counters.nonNumeric += 1;
      return;
    }
    this.counters.commands += 1;
    this.handlers.command?.(fields === 3 ? { name, arg } : { name }, receivedAt);
  }

  /** Decimal digits up to the next comma, ≤ max; -1 when not. Moves past the comma. */
  private unsignedField(max: number): number {
    const line = this.line;
    let p = this.pos;
    let v = 0;
    let digits = 0;
    while (p < this.end && line[p] !== COMMA) {
      const d = line[p]! - ZERO;
      if (d < 0 || d > 9 || ++digits > 10) return -1;
      v = v * 10 + d;
      p++;
    }
    this.pos = p + 1;
    return digits === 0 || v > max ? -1 : v;
  }

  /** A plate value (optional minus, 1–10 digits) or the error marker `E`, into the sample. */
  private plateField(i: number): boolean {
    const line = this.line;
    let p = this.pos;
    const s = this.sample;
    if (line[p] === LETTER_E && (p + 1 === this.end || line[p + 1] === COMMA)) {
      s.raw[i] = 0;
      s.plateError[i] = 1;
      this.pos = p + 2;
      return true;
    }
    const negative = line[p] === MINUS;
    if (negative) p++;
    let v = 0;
    let digits = 0;
    while (p < this.end && line[p] !== COMMA) {
      const d = line[p]! - ZERO;
      if (d < 0 || d > 9 || ++digits > 10) return false;
      v = v * 10 + d;
      p++;
    }
    if (digits === 0) return false;
    this.pos = p + 1;
    const value = negative ? -v : v;
    s.raw[i] = value > INT32_MAX ? INT32_MAX : value < INT32_MIN ? INT32_MIN : value;
    s.plateError[i] = 0;
    return true;
  }

  private textField(min: number, max: number, spaces: boolean): string | undefined {
    const line = this.line;
    const start = this.pos;
    let p = start;
    while (p < this.end && line[p] !== COMMA) {
      if (!textByteOk(line[p]!, spaces)) return undefined;
      p++;
    }
    this.pos = p + 1;
    const length = p - start;
    return length < min || length > max ? undefined : line.toString('latin1', start, p);
  }
}

function hex4(buf: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = buf[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}
