/**
 * The Magic RF M100/QM100 ("R200") UART protocol (spec: ./README.md): binary frames
 * `BB type command lenHi lenLo params… checksum 7E`. Encoders for every frame the agent and the
 * simulator send, and a streaming decoder that resynchronises on its own, trusts only the
 * declared length (0xBB and 0x7E also occur inside EPCs) and allocates nothing per frame but the
 * EPC string of a read.
 */

export const R200_HEADER = 0xbb;
export const R200_END = 0x7e;
/** Header, type, command, two length bytes, checksum, end. */
export const R200_FRAME_OVERHEAD = 7;
/** Longest parameter block accepted; a longer declared length is a framing error. */
export const R200_MAX_PARAMS = 256;

export const R200_TYPE = { command: 0x00, response: 0x01, notification: 0x02 } as const;

export const R200_COMMAND = {
  moduleInfo: 0x03,
  setRegion: 0x07,
  inventory: 0x22,
  startPolling: 0x27,
  stopPolling: 0x28,
  setPower: 0xb6,
  getPower: 0xb7,
  /** Only in responses: the module could not do what was asked. */
  error: 0xff,
} as const;

export const R200_MODULE_INFO = { hardware: 0x00, software: 0x01, manufacturer: 0x02 } as const;
export type R200ModuleInfoKind = keyof typeof R200_MODULE_INFO;

export const R200_REGIONS = { 'china-900': 0x01, us: 0x02, europe: 0x03, 'china-800': 0x04, korea: 0x06 } as const;
export type R200Region = keyof typeof R200_REGIONS;

/** The reserved first parameter byte of a multiple polling command. */
export const R200_POLL_RESERVED = 0x22;
/** Poll count meaning "until a stop command". */
export const R200_POLL_UNTIL_STOPPED = 0xffff;
/** Status byte of a successful set-region, set-power or stop-polling response. */
export const R200_OK = 0x00;
/** The error a module sends after an inventory round that found no tag: normal between tags. */
export const R200_NO_TAG = 0x15;

export const R200_ERROR_CODES = {
  0x09: 'READ_FAILED',
  0x10: 'WRITE_FAILED',
  0x12: 'KILL_FAILED',
  0x13: 'LOCK_FAILED',
  0x14: 'BLOCK_PERMALOCK_FAILED',
  0x15: 'NO_TAG',
  0x16: 'ACCESS_FAILED',
  0x17: 'INVALID_COMMAND',
  0x20: 'FHSS_FAILED',
} as const satisfies Record<number, string>;

export function r200ErrorName(code: number): string {
  return (R200_ERROR_CODES as Record<number, string>)[code] ?? `CODE_0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** An EPC is 1–31 words (the PC's 5-bit length field); a read of 0 words carries nothing. */
export const EPC_MAX_WORDS = 31;

// ---------------------------------------------------------------------------------------------
// Encoding

/** One frame of any type; the checksum and end byte are added. */
export function encodeR200Frame(type: number, command: number, params: ArrayLike<number> = []): Buffer {
  checkByte('type', type);
  checkByte('command', command);
  if (params.length > R200_MAX_PARAMS) throw new RangeError(`at most ${R200_MAX_PARAMS} parameter bytes, not ${params.length}`);
  const out = Buffer.allocUnsafe(R200_FRAME_OVERHEAD + params.length);
  out[0] = R200_HEADER;
  out[1] = type;
  out[2] = command;
  out[3] = params.length >> 8;
  out[4] = params.length & 0xff;
  for (let i = 0; i < params.length; i++) {
    const b = params[i]!;
    checkByte(`parameter ${i}`, b);
    out[5 + i] = b;
  }
  const end = 5 + params.length;
  out[end] = checksum(out, 1, end);
  out[end + 1] = R200_END;
  return out;
}

export function encodeModuleInfoRequest(kind: R200ModuleInfoKind): Buffer {
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.moduleInfo, [R200_MODULE_INFO[kind]]);
}

export function encodeSingleInventory(): Buffer {
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.inventory);
}

/** Inventory rounds until `count` are done, or until stopped when it is 0xFFFF. */
export function encodeStartPolling(count: number = R200_POLL_UNTIL_STOPPED): Buffer {
  checkWord('poll count', count);
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.startPolling, [R200_POLL_RESERVED, count >> 8, count & 0xff]);
}

export function encodeStopPolling(): Buffer {
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.stopPolling);
}

export function encodeSetRegion(region: R200Region): Buffer {
  const code = R200_REGIONS[region];
  if (code === undefined) throw new RangeError(`unknown region "${String(region)}"`);
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.setRegion, [code]);
}

export function encodeSetPower(dbm: number): Buffer {
  const centi = powerCenti(dbm);
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.setPower, [centi >> 8, centi & 0xff]);
}

export function encodeGetPower(): Buffer {
  return encodeR200Frame(R200_TYPE.command, R200_COMMAND.getPower);
}

/** The answer to set region, set power or stop polling: one status byte, 0x00 for done. */
export function encodeStatusResponse(command: number, status: number = R200_OK): Buffer {
  return encodeR200Frame(R200_TYPE.response, command, [status]);
}

export function encodeModuleInfoResponse(kind: R200ModuleInfoKind, text: string): Buffer {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new RangeError('module information is printable ASCII');
  return encodeR200Frame(R200_TYPE.response, R200_COMMAND.moduleInfo, [R200_MODULE_INFO[kind], ...Buffer.from(text, 'latin1')]);
}

export function encodePowerResponse(dbm: number): Buffer {
  const centi = powerCenti(dbm);
  return encodeR200Frame(R200_TYPE.response, R200_COMMAND.getPower, [centi >> 8, centi & 0xff]);
}

export function encodeErrorResponse(code: number): Buffer {
  return encodeR200Frame(R200_TYPE.response, R200_COMMAND.error, [code]);
}

export interface R200TagFields {
  /** dBm, −128…127 (whole numbers on the wire). */
  rssi: number;
  /** Upper- or lower-case hex, 1–31 whole words. */
  epc: string;
  /** Protocol control word; by default the EPC length in words and no flags. */
  pc?: number;
  /** The tag's CRC-16; by default the right one for PC and EPC. */
  crc?: number;
}

/** An inventory notification: what the module sends for every tag it reads. */
export function encodeTagNotification(tag: R200TagFields): Buffer {
  if (!Number.isInteger(tag.rssi) || tag.rssi < -128 || tag.rssi > 127) throw new RangeError(`rssi must be a whole dBm value in −128…127, not ${tag.rssi}`);
  if (!/^(?:[0-9A-Fa-f]{4})+$/.test(tag.epc) || tag.epc.length > EPC_MAX_WORDS * 4) throw new RangeError(`EPC must be 1–${EPC_MAX_WORDS} words of hex digits: "${tag.epc}"`);
  const epc = Buffer.from(tag.epc, 'hex');
  const pc = tag.pc ?? (epc.length / 2) << 11;
  checkWord('pc', pc);
  const params = Buffer.allocUnsafe(5 + epc.length);
  params[0] = tag.rssi & 0xff;
  params.writeUInt16BE(pc, 1);
  epc.copy(params, 3);
  const crc = tag.crc ?? gen2Crc16(params, 1, 3 + epc.length);
  checkWord('crc', crc);
  params.writeUInt16BE(crc, 3 + epc.length);
  return encodeR200Frame(R200_TYPE.notification, R200_COMMAND.inventory, params);
}

function powerCenti(dbm: number): number {
  const centi = Math.round(dbm * 100);
  if (!Number.isFinite(dbm) || centi < 0 || centi > 0xffff) throw new RangeError(`transmit power must be 0–655.35 dBm, not ${dbm}`);
  return centi;
}

function checkByte(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${what} must be a byte, not ${v}`);
}

function checkWord(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} must be 0–65535, not ${v}`);
}

function checksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return sum & 0xff;
}

const GEN2_CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/**
 * The EPC Gen2 CRC-16 a tag backscatters over its PC and EPC (CRC-16/GENIBUS: poly 0x1021,
 * init 0xFFFF, no reflection, final XOR 0xFFFF; check value 0xD64E).
 */
export function gen2Crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ GEN2_CRC_TABLE[((crc >> 8) ^ data[i]!) & 0xff]!;
  return crc ^ 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * One frame, in a structure the decoder reuses: valid only during the handler call. The
 * parameters are `bytes[paramStart … paramStart + paramLength)`; read them with the helpers below.
 */
export interface R200Frame {
  type: number;
  command: number;
  bytes: Uint8Array;
  paramStart: number;
  paramLength: number;
  /** Store time of reception of the frame's last byte. */
  receivedAt: number;
}

/** A tag from an inventory notification, in a structure the decoder reuses. */
export interface R200TagRead {
  /** dBm, signed. */
  rssi: number;
  pc: number;
  /** Upper-case hex. */
  epc: string;
  /** The tag's CRC-16 as sent (already checked against PC and EPC). */
  crc: number;
  receivedAt: number;
}

export interface R200Handlers {
  /** An inventory notification whose tag CRC is right. */
  tag?(read: R200TagRead): void;
  /** An error response (command 0xFF): its code. */
  moduleError?(code: number, receivedAt: number): void;
  /** Any other response to a known command. */
  response?(frame: R200Frame): void;
  /** Host → module frames; the simulator decodes them with the same decoder. */
  command?(frame: R200Frame): void;
}

export interface R200Counters {
  bytes: number;
  /** Frames with a plausible header, the right end byte and checksum, of any kind. */
  frames: number;
  reads: number;
  responses: number;
  errorResponses: number;
  commands: number;
  /** Bytes outside any good frame: noise, and the bytes of rejected frames. */
  garbageBytes: number;
  /** No end byte where the declared length puts it, or a length no frame has. */
  framingErrors: number;
  checksumErrors: number;
  /** A frame cut short: another frame started before its declared end, or a reconnect came. */
  truncated: number;
  unknownTypes: number;
  /** A well-formed frame with a command code this decoder does not know for its type. */
  unknownCommands: number;
  /** A known frame whose parameters do not fit it (wrong length, EPC length not the PC's). */
  badParameters: number;
  /** An inventory notification whose tag CRC does not match its PC and EPC: dropped. */
  tagCrcErrors: number;
}

const COMMAND_PARAM_LENGTH: Record<number, number> = {
  [R200_COMMAND.moduleInfo]: 1,
  [R200_COMMAND.setRegion]: 1,
  [R200_COMMAND.inventory]: 0,
  [R200_COMMAND.startPolling]: 3,
  [R200_COMMAND.stopPolling]: 0,
  [R200_COMMAND.setPower]: 2,
  [R200_COMMAND.getPower]: 0,
};

/** Expected parameter length of a response; -1: at least one byte. */
const RESPONSE_PARAM_LENGTH: Record<number, number> = {
  [R200_COMMAND.moduleInfo]: -1,
  [R200_COMMAND.setRegion]: 1,
  [R200_COMMAND.startPolling]: 1,
  [R200_COMMAND.stopPolling]: 1,
  [R200_COMMAND.setPower]: 1,
  [R200_COMMAND.getPower]: 2,
};

/** Big enough that a whole frame of the longest accepted length always fits after compaction. */
const BUFFER_BYTES = 4 * (R200_FRAME_OVERHEAD + R200_MAX_PARAMS);
const HEX_DIGITS = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * Streaming decoder: frames may be split across chunks anywhere, garbage may come between
 * them. A candidate frame is judged only once all the bytes its length declares are in; when it
 * fails, scanning resumes at the byte after its header, so a good frame hidden inside a broken
 * one is still found. Never throws on input; handler exceptions propagate (after the frame is
 * consumed).
 */
export class R200Decoder {
  readonly counters: R200Counters = {
    bytes: 0,
    frames: 0,
    reads: 0,
    responses: 0,
    errorResponses: 0,
    commands: 0,
    garbageBytes: 0,
    framingErrors: 0,
    checksumErrors: 0,
    truncated: 0,
    unknownTypes: 0,
    unknownCommands: 0,
    badParameters: 0,
    tagCrcErrors: 0,
  };
  private readonly buf = Buffer.alloc(BUFFER_BYTES);
  private start = 0;
  private length = 0;
  private readonly hex = Buffer.alloc(EPC_MAX_WORDS * 4);
  private readonly frame: R200Frame = { type: 0, command: 0, bytes: this.buf, paramStart: 0, paramLength: 0, receivedAt: 0 };
  private readonly read: R200TagRead = { rssi: 0, pc: 0, epc: '', crc: 0, receivedAt: 0 };

  constructor(private readonly handlers: R200Handlers) {}

  push(chunk: Uint8Array, receivedAt: number): void {
    this.counters.bytes += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      const n = Math.min(chunk.length - i, this.buf.length - this.length);
      for (let k = 0; k < n; k++) this.buf[this.length + k] = chunk[i + k]!;
      this.length += n;
      i += n;
      this.parse(receivedAt);
    }
  }

  /** Forgets a partial frame (counted as truncated), e.g. when a new connection starts. */
  reset(): void {
    const pending = this.length - this.start;
    if (pending > 0) {
      this.counters.truncated += 1;
      this.counters.garbageBytes += pending;
    }
    this.start = 0;
    this.length = 0;
  }

  private parse(receivedAt: number): void {
    const buf = this.buf;
    const c = this.counters;
    let p = this.start;
    for (;;) {
      while (p < this.length && buf[p] !== R200_HEADER) {
        c.garbageBytes += 1;
        p++;
      }
      if (this.length - p < 5) break;
      const type = buf[p + 1]!;
      const paramLength = (buf[p + 3]! << 8) | buf[p + 4]!;
      if (type > R200_TYPE.notification || paramLength > R200_MAX_PARAMS) {
        if (type > R200_TYPE.notification) c.unknownTypes += 1;
        else c.framingErrors += 1;
        c.garbageBytes += 1;
        p++;
        continue;
      }
      const total = R200_FRAME_OVERHEAD + paramLength;
      if (this.length - p < total) break;
      const last = p + total - 1;
      if (buf[last] !== R200_END) {
        if (headerWithin(buf, p + 1, last)) c.truncated += 1;
        else c.framingErrors += 1;
        c.garbageBytes += 1;
        p++;
        continue;
      }
      if (checksum(buf, p + 1, last - 1) !== buf[last - 1]) {
        c.checksumErrors += 1;
        c.garbageBytes += 1;
        p++;
        continue;
      }
      c.frames += 1;
      // Consumed before dispatch: a throwing handler must not see this frame again.
      this.start = p + total;
      this.dispatch(type, buf[p + 2]!, p + 5, paramLength, receivedAt);
      p = this.start;
    }
    if (p > 0) {
      buf.copyWithin(0, p, this.length);
      this.length -= p;
    }
    this.start = 0;
  }

  private dispatch(type: number, command: number, paramStart: number, paramLength: number, receivedAt: number): void {
    const c = this.counters;
    if (type === R200_TYPE.notification) {
      if (command === R200_COMMAND.inventory) this.tag(paramStart, paramLength, receivedAt);
      else c.unknownCommands += 1;
      return;
    }
    if (type === R200_TYPE.response && command === R200_COMMAND.error) {
      if (paramLength !== 1) {
        c.badParameters += 1;
        return;
      }
      c.errorResponses += 1;
      this.handlers.moduleError?.(this.buf[paramStart]!, receivedAt);
      return;
    }
    const expected = (type === R200_TYPE.command ? COMMAND_PARAM_LENGTH : RESPONSE_PARAM_LENGTH)[command];
    if (expected === undefined) {
      c.unknownCommands += 1;
      return;
    }
    if (expected < 0 ? paramLength < 1 : paramLength !== expected) {
      c.badParameters += 1;
      return;
    }
    const frame = this.frame;
    frame.type = type;
    frame.command = command;
    frame.paramStart = paramStart;
    frame.paramLength = paramLength;
    frame.receivedAt = receivedAt;
    if (type === R200_TYPE.command) {
      c.commands += 1;
      this.handlers.command?.(frame);
    } else {
      c.responses += 1;
      this.handlers.response?.(frame);
    }
  }

  /** RSSI (1), PC (2), EPC (2 × words), CRC (2). */
  private tag(at: number, paramLength: number, receivedAt: number): void {
    const buf = this.buf;
    const c = this.counters;
    if (paramLength < 5) {
      c.badParameters += 1;
      return;
    }
    const pc = (buf[at + 1]! << 8) | buf[at + 2]!;
    const epcBytes = (pc >> 11) * 2;
    if (epcBytes === 0 || paramLength !== 5 + epcBytes) {
      c.badParameters += 1;
      return;
    }
    const epcStart = at + 3;
    const crcAt = epcStart + epcBytes;
    const crc = (buf[crcAt]! << 8) | buf[crcAt + 1]!;
    if (gen2Crc16(buf, at + 1, crcAt) !== crc) {
      c.tagCrcErrors += 1;
      return;
    }
    const hex = this.hex;
    for (let i = 0; i < epcBytes; i++) {
      const b = buf[epcStart + i]!;
      hex[2 * i] = HEX_DIGITS[b >> 4]!;
      hex[2 * i + 1] = HEX_DIGITS[b & 0x0f]!;
    }
    const read = this.read;
    read.rssi = (buf[at]! << 24) >> 24;
    read.pc = pc;
    read.epc = hex.toString('latin1', 0, 2 * epcBytes);
    read.crc = crc;
    read.receivedAt = receivedAt;
    c.reads += 1;
    this.handlers.tag?.(read);
  }
}

/**
 * Whether a frame could start inside a broken candidate `[from, last]`: a header byte followed
 * by a known type. Only bytes of the candidate are looked at, so chunking never changes the answer.
 */
function headerWithin(buf: Uint8Array, from: number, last: number): boolean {
  for (let q = from; q <= last; q++) {
    if (buf[q] === R200_HEADER && (q === last || buf[q + 1]! <= R200_TYPE.notification)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Reading parameters of a decoded frame

export function r200ParamByte(frame: R200Frame, index: number): number {
  return index < frame.paramLength ? frame.bytes[frame.paramStart + index]! : -1;
}

/** A big-endian 16-bit parameter at `index`; -1 past the end. */
export function r200ParamWord(frame: R200Frame, index: number): number {
  return index + 1 < frame.paramLength ? (frame.bytes[frame.paramStart + index]! << 8) | frame.bytes[frame.paramStart + index + 1]! : -1;
}

/** The parameters from `index` on as text (module information strings). */
export function r200ParamText(frame: R200Frame, index: number): string {
  const start = frame.paramStart + Math.min(index, frame.paramLength);
  return Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength).toString('latin1', start, frame.paramStart + frame.paramLength);
}
