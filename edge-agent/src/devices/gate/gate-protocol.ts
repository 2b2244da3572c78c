/**
 * The gate controller's text lines (spec: ./README.md): `SCAN <token>`, `PASS IN`, `PASS OUT`,
 * each optionally prefixed by `@<device ms> `, ended by LF or CRLF. Gate lines are rare (people,
 * not samples), so the decoder favours clarity over zero allocation.
 */
import type { GateReading } from './gate-event.js';
import { LineFramer } from '../serial/line-framer.js';

/** Longest line accepted, terminator included. */
export const GATE_MAX_LINE_BYTES = 256;
export const GATE_TOKEN_MAX = 128;

export type GateMessage = Pick<GateReading, 'kind' | 'token' | 'direction' | 'deviceTs'>;

export interface GateLineCounters {
  bytes: number;
  /** Terminated lines, blank ones included. */
  lines: number;
  blank: number;
  scans: number;
  passes: number;
  malformed: number;
  overlong: number;
}

const TOKEN = /^[\x21-\x7e]{1,128}$/;
const PREFIX = /^@(\d{1,16}) (.*)$/s;

export function encodeGateLine(message: GateMessage, eol: '\n' | '\r\n' = '\r\n'): Buffer {
  let body: string;
  if (message.kind === 'scan') {
    if (message.token === undefined || !TOKEN.test(message.token)) {
      throw new RangeError(`gate token must be 1–${GATE_TOKEN_MAX} printable ASCII characters without spaces`);
    }
    body = `SCAN ${message.token}`;
  } else {
    if (message.direction !== 'in' && message.direction !== 'out') throw new RangeError('a pass needs a direction, in or out');
    body = `PASS ${message.direction.toUpperCase()}`;
  }
  if (message.deviceTs !== undefined) {
    if (!Number.isSafeInteger(message.deviceTs) || message.deviceTs < 0) throw new RangeError(`device time must be a non-negative integer, not ${message.deviceTs}`);
    body = `@${message.deviceTs} ${body}`;
  }
  return Buffer.from(body + eol, 'latin1');
}

/** Parses one line (terminator removed); a string describes why it is malformed. */
export function parseGateLine(line: string): GateMessage | string {
  let rest = line;
  let deviceTs: number | undefined;
  if (rest.startsWith('@')) {
    const m = PREFIX.exec(rest);
    if (!m) return 'a device time is @<digits> followed by one space';
    deviceTs = Number(m[1]);
    if (!Number.isSafeInteger(deviceTs)) return 'device time is too large';
    rest = m[2]!;
  }
  if (rest.startsWith('SCAN ')) {
    const token = rest.slice(5);
    if (!TOKEN.test(token)) return `a token is 1–${GATE_TOKEN_MAX} printable ASCII characters without spaces`;
    return deviceTs === undefined ? { kind: 'scan', token } : { kind: 'scan', token, deviceTs };
  }
  if (rest === 'PASS IN' || rest === 'PASS OUT') {
    const direction = rest === 'PASS IN' ? 'in' : 'out';
    return deviceTs === undefined ? { kind: 'pass', direction } : { kind: 'pass', direction, deviceTs };
  }
  return 'not SCAN <token>, PASS IN or PASS OUT';
}

/** Streaming decoder: lines may be split across chunks in any way; bad lines are counted and skipped. */
export class GateLineDecoder {
  readonly counters: GateLineCounters = { bytes: 0, lines: 0, blank: 0, scans: 0, passes: 0, malformed: 0, overlong: 0 };
  /** Why the last bad line was refused, for health output. */
  lastProblem: string | undefined;
  private readonly framer = new LineFramer(GATE_MAX_LINE_BYTES, (length, overlong, receivedAt) => this.endLine(length, overlong, receivedAt));
  private readonly line = this.framer.line;

  constructor(
    private readonly gate: string,
    private readonly onReading: (reading: GateReading) => void,
  ) {}

  push(chunk: Uint8Array, receivedAt: number): void {
    this.counters.bytes += chunk.length;
    this.framer.push(chunk, receivedAt);
  }

  reset(): void {
    this.framer.reset();
  }

  private endLine(end: number, overlong: boolean, receivedAt: number): void {
    const c = this.counters;
    c.lines += 1;
    if (overlong) {
      c.overlong += 1;
      this.lastProblem = `line longer than ${GATE_MAX_LINE_BYTES} bytes`;
      return;
    }
    if (end === 0) {
      c.blank += 1;
      return;
    }
    for (let i = 0; i < end; i++) {
      const b = this.line[i]!;
      if (b < 0x20 || b > 0x7e) {
        c.malformed += 1;
        this.lastProblem = `byte 0x${b.toString(16).padStart(2, '0')} at column ${i + 1} is not printable ASCII`;
        return;
      }
    }
    const parsed = parseGateLine(this.line.toString('latin1', 0, end));
    if (typeof parsed === 'string') {
      c.malformed += 1;
      this.lastProblem = parsed;
      return;
    }
    if (parsed.kind === 'scan') c.scans += 1;
    else c.passes += 1;
    this.onReading({ gate: this.gate, ...parsed, at: receivedAt });
  }
}
