import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import {
  SCALE_MAX_LINE_BYTES,
  SCALE_MAX_PLATES,
  ScaleLineDecoder,
  crc16CcittFalse,
  encodeCommandLine,
  encodeErrorLine,
  encodeIdentityLine,
  encodeSampleLine,
  encodeStatusLine,
  writeSampleLine,
  SAMPLE_LINE_CAPACITY,
  type ScaleCommand,
  type ScaleIdentity,
  type ScaleLineCounters,
  type ScaleNotice,
} from '../../edge-agent/src/devices/scale/scale-line-protocol.js';

const README = join(import.meta.dirname, '..', '..', 'edge-agent', 'src', 'devices', 'scale', 'README.md');

interface DecodedSample {
  deviceTs: number;
  seq: number;
  raw: number[];
  plateError: number[];
  receivedAt: number;
}

type Decoded =
  | { type: 'sample'; sample: DecodedSample }
  | { type: 'identity'; identity: ScaleIdentity }
  | { type: 'status' | 'error'; notice: ScaleNotice }
  | { type: 'command'; command: ScaleCommand };

/** A decoder whose output is copied into plain values (the sample structure is reused). */
function collecting(): { decoder: ScaleLineDecoder; out: Decoded[]; counters: ScaleLineCounters } {
  const out: Decoded[] = [];
  const decoder = new ScaleLineDecoder({
    sample: (s) =>
      out.push({
        type: 'sample',
        sample: {
          deviceTs: s.deviceTs,
          seq: s.seq,
          raw: Array.from(s.raw.subarray(0, s.plateCount)),
          plateError: Array.from(s.plateError.subarray(0, s.plateCount)),
          receivedAt: s.receivedAt,
        },
      }),
    identity: (identity) => out.push({ type: 'identity', identity }),
    status: (notice) => out.push({ type: 'status', notice }),
    error: (notice) => out.push({ type: 'error', notice }),
    command: (command) => out.push({ type: 'command', command }),
  });
  return { decoder, out, counters: decoder.counters };
}

/** A correctly framed line around any body, for building lines the encoders refuse to write. */
function frame(body: string): Buffer {
  const bytes = Buffer.from(body, 'latin1');
  const crc = crc16CcittFalse(bytes).toString(16).toUpperCase().padStart(4, '0');
  return Buffer.from(`$${body}*${crc}\r\n`, 'latin1');
}

const BAD_KINDS = ['missingStart', 'overlong', 'checksumErrors', 'badFraming', 'badFieldCount', 'nonNumeric', 'unknownType'] as const;
const rejected = (c: ScaleLineCounters) => BAD_KINDS.reduce((sum, k) => sum + c[k], 0);
const accepted = (c: ScaleLineCounters) => c.samples + c.identities + c.statuses + c.errors + c.commands;

function bitwiseCrc(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

describe('CRC-16/CCITT-FALSE', () => {
  it('has the standard check value and agrees with a bitwise implementation', () => {
    expect(crc16CcittFalse(Buffer.from('123456789'))).toBe(0x29b1);
    const rng = xoroshiro128plus(7);
    for (let n = 0; n < 200; n++) {
      const bytes = Buffer.alloc(uniformInt(rng, 0, 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = uniformInt(rng, 0, 255);
      expect(crc16CcittFalse(bytes)).toBe(bitwiseCrc(bytes));
    }
  });
});

describe('scale line encoders and decoder', () => {
  const samples = [
    { deviceTs: 0, seq: 0, raw: [0] },
    { deviceTs: 4_294_967_295, seq: 65_535, raw: [-8_388_608, 8_388_607, -1, 1, 123_456, -7] },
    { deviceTs: 1017, seq: 42, raw: [10, 20, 30, 40], plateError: [0, 1, 0, 1] },
    { deviceTs: 99, seq: 7, raw: Array.from({ length: SCALE_MAX_PLATES }, (_, i) => (i % 2 ? -1 : 1) * (8_388_607 - i)) },
    // Out of the 24-bit range: the decoder delivers it, the adapter decides it is unusable.
    { deviceTs: 5, seq: 6, raw: [2_147_483_647, -2_147_483_648] },
  ];

  it('round-trips sample lines', () => {
    const { decoder, out, counters } = collecting();
    for (const s of samples) decoder.push(encodeSampleLine(s), 1234.5);
    expect(out).toEqual(
      samples.map((s) => ({
        type: 'sample',
        sample: { deviceTs: s.deviceTs, seq: s.seq, raw: s.plateError ? s.raw.map((v, i) => (s.plateError[i] ? 0 : v)) : s.raw, plateError: s.plateError ?? s.raw.map(() => 0), receivedAt: 1234.5 },
      })),
    );
    expect(rejected(counters)).toBe(0);
    expect(counters.lines).toBe(samples.length);
  });

  it('writes sample lines into a caller buffer at an offset, back to back', () => {
    const out = Buffer.alloc(SAMPLE_LINE_CAPACITY * 3);
    let end = writeSampleLine(out, 0, samples[1]!);
    end = writeSampleLine(out, end, { ...samples[2]!, plateCount: 2 });
    expect(out.subarray(0, end).toString('latin1')).toBe(encodeSampleLine(samples[1]!).toString('latin1') + encodeSampleLine({ ...samples[2]!, raw: [10, 20] }).toString('latin1'));
    expect(() => writeSampleLine(Buffer.alloc(100), 0, samples[0]!)).toThrow(/needs \d+ bytes/);
    expect(() => encodeSampleLine({ deviceTs: -1, seq: 0, raw: [1] })).toThrow(RangeError);
    expect(() => encodeSampleLine({ deviceTs: 0, seq: 65_536, raw: [1] })).toThrow(RangeError);
    expect(() => encodeSampleLine({ deviceTs: 0, seq: 0, raw: [] })).toThrow(/1–32 plates/);
    expect(() => encodeSampleLine({ deviceTs: 0, seq: 0, raw: [1.5] })).toThrow(/plate 1/);
  });

  it('keeps even the widest conforming sample line within the line limit', () => {
    const widest = encodeSampleLine({ deviceTs: 4_294_967_295, seq: 65_535, raw: new Array<number>(SCALE_MAX_PLATES).fill(-8_388_608) });
    expect(widest.length).toBe(314);
    expect(widest.length).toBeLessThanOrEqual(SCALE_MAX_LINE_BYTES);
  });

  it('round-trips identity, status, error and command lines', () => {
    const { decoder, out, counters } = collecting();
    const identity = { firmware: '2.0.0-rc.1', serial: 'SC-0001', plateCount: 6, sampleRateHz: 60 };
    const status = { deviceTs: 12, code: 1, plate: 0, text: 'POWER_ON' };
    const error = { deviceTs: 4_294_967_295, code: 102, plate: 32, text: 'no data ready for 40 ms' };
    const bare = { deviceTs: 77, code: 2, plate: 3 };
    decoder.push(Buffer.concat([encodeIdentityLine(identity), encodeStatusLine(status), encodeErrorLine(error), encodeStatusLine(bare)]), 1);
    decoder.push(Buffer.concat([encodeCommandLine({ name: 'ID' }), encodeCommandLine({ name: 'RESET', arg: 'now' })]), 2);
    expect(out).toEqual([
      { type: 'identity', identity },
      { type: 'status', notice: status },
      { type: 'error', notice: error },
      { type: 'status', notice: { ...bare, text: '' } },
      { type: 'command', command: { name: 'ID' } },
      { type: 'command', command: { name: 'RESET', arg: 'now' } },
    ]);
    expect(rejected(counters)).toBe(0);
  });

  it('refuses to encode fields the protocol cannot carry', () => {
    expect(() => encodeIdentityLine({ firmware: '1,2', serial: 'x', plateCount: 6, sampleRateHz: 60 })).toThrow(/firmware/);
    expect(() => encodeIdentityLine({ firmware: '1', serial: 'x', plateCount: 33, sampleRateHz: 60 })).toThrow(/plateCount/);
    expect(() => encodeStatusLine({ deviceTs: 1, code: 1, plate: 0, text: 'a*b' })).toThrow(/text/);
    expect(() => encodeErrorLine({ deviceTs: 1, code: 1000, plate: 0 })).toThrow(/code/);
    expect(() => encodeCommandLine({ name: 'id' })).toThrow(/upper-case/);
  });

  it('hands out the same sample structure every time (no allocation per line)', () => {
    const seen = new Set<object>();
    const decoder = new ScaleLineDecoder({ sample: (s) => seen.add(s) });
    for (let i = 0; i < 10; i++) decoder.push(encodeSampleLine({ deviceTs: i, seq: i, raw: [i, -i] }), i);
    expect(seen.size).toBe(1);
  });

  it('decodes the same lines whatever the chunk boundaries', () => {
    const stream = Buffer.concat([
      encodeStatusLine({ deviceTs: 1, code: 1, plate: 0, text: 'POWER_ON' }),
      encodeIdentityLine({ firmware: '1.4.2', serial: 'SC-9', plateCount: 3, sampleRateHz: 60 }),
      encodeSampleLine({ deviceTs: 17, seq: 0, raw: [100, -200, 300] }),
      Buffer.from('noise\r\n'),
      encodeSampleLine({ deviceTs: 34, seq: 1, raw: [101, -201, 301], plateError: [0, 0, 1] }),
      encodeErrorLine({ deviceTs: 40, code: 101, plate: 3 }),
      Buffer.from(encodeSampleLine({ deviceTs: 51, seq: 2, raw: [1, 2, 3] }).toString('latin1').replace('\r\n', '\n'), 'latin1'),
    ]);
    const whole = collecting();
    whole.decoder.push(stream, 0);
    expect(whole.out.map((d) => d.type)).toEqual(['status', 'identity', 'sample', 'sample', 'error', 'sample']);
    expect(whole.counters.missingStart).toBe(1);
    for (let split = 0; split <= stream.length; split++) {
      const parts = collecting();
      parts.decoder.push(stream.subarray(0, split), 0);
      parts.decoder.push(stream.subarray(split), 0);
      expect(parts.out).toEqual(whole.out);
      expect(parts.counters).toEqual(whole.counters);
    }
    const bytewise = collecting();
    for (let i = 0; i < stream.length; i++) bytewise.decoder.push(stream.subarray(i, i + 1), 0);
    expect(bytewise.out).toEqual(whole.out);
  });

  it('skips garbage between lines and parses the next valid line', () => {
    const { decoder, out, counters } = collecting();
    const line = (seq: number) => encodeSampleLine({ deviceTs: seq * 17, seq, raw: [seq, seq + 1] });
    decoder.push(Buffer.from('\x00\xff\x13garbage', 'latin1'), 0);
    decoder.push(line(1), 0); // straight after garbage, no newline in between
    decoder.push(Buffer.from('\r\n\r\n'), 0); // blank lines are nothing
    decoder.push(Buffer.from('more garbage\n'), 0);
    decoder.push(line(2), 0);
    decoder.push(Buffer.from('$S,1,2,3'), 0); // cut short by the next `$`
    decoder.push(line(3), 0);
    expect(out.map((d) => d.type === 'sample' && d.sample.seq)).toEqual([1, 2, 3]);
    expect(counters.garbageBytes).toBe(10 + 12);
    expect(counters.missingStart).toBe(1);
    expect(counters.badFraming).toBe(1);
  });

  it('counts every kind of bad line and skips it', () => {
    const cases: { name: string; bytes: Buffer; kind: keyof ScaleLineCounters }[] = [
      { name: 'no $', bytes: Buffer.from('S,1,2,3*1234\r\n'), kind: 'missingStart' },
      { name: 'over-long', bytes: Buffer.from(`$S,1,2,${'1,'.repeat(200)}1*0000\r\n`), kind: 'overlong' },
      { name: 'bad checksum', bytes: Buffer.from(encodeSampleLine({ deviceTs: 1, seq: 1, raw: [5] }).toString('latin1').replace('*', '0*')), kind: 'checksumErrors' },
      { name: 'no checksum', bytes: Buffer.from('$S,1,2,3\r\n'), kind: 'badFraming' },
      { name: 'short checksum', bytes: Buffer.from('$S,1,2,3*12\r\n'), kind: 'badFraming' },
      { name: 'checksum not hex', bytes: Buffer.from('$S,1,2,3*12G4\r\n'), kind: 'badFraming' },
      { name: 'sample without plates', bytes: frame('S,1,2'), kind: 'badFieldCount' },
      { name: 'sample with 33 plates', bytes: frame(`S,1,2,${new Array(33).fill(0).join(',')}`), kind: 'badFieldCount' },
      { name: 'identity with 3 fields', bytes: frame('I,1.0,SC-1,6'), kind: 'badFieldCount' },
      { name: 'notice with 2 fields', bytes: frame('N,1,1'), kind: 'badFieldCount' },
      { name: 'command without name', bytes: frame('C'), kind: 'badFieldCount' },
      { name: 'letter in a plate', bytes: frame('S,1,2,12x4'), kind: 'nonNumeric' },
      { name: 'empty plate', bytes: frame('S,1,2,5,,6'), kind: 'nonNumeric' },
      { name: 'lone minus', bytes: frame('S,1,2,-'), kind: 'nonNumeric' },
      { name: 'plate of 11 digits', bytes: frame('S,1,2,12345678901'), kind: 'nonNumeric' },
      { name: 'deviceTs beyond uint32', bytes: frame('S,4294967296,2,5'), kind: 'nonNumeric' },
      { name: 'negative seq', bytes: frame('S,1,-2,5'), kind: 'nonNumeric' },
      { name: 'seq beyond uint16', bytes: frame('S,1,65536,5'), kind: 'nonNumeric' },
      { name: 'identity plate count 0', bytes: frame('I,1.0,SC-1,0,60'), kind: 'nonNumeric' },
      { name: 'identity with a space', bytes: frame('I,1.0 beta,SC-1,6,60'), kind: 'nonNumeric' },
      { name: 'notice code 0', bytes: frame('E,1,0,0'), kind: 'nonNumeric' },
      { name: 'notice plate 33', bytes: frame('E,1,101,33'), kind: 'nonNumeric' },
      { name: 'lower-case command', bytes: frame('C,id'), kind: 'nonNumeric' },
      { name: 'unknown letter', bytes: frame('Q,1,2'), kind: 'unknownType' },
      { name: 'long type', bytes: frame('SAMPLE,1,2,3'), kind: 'unknownType' },
    ];
    const good = encodeSampleLine({ deviceTs: 9, seq: 9, raw: [9] });
    for (const c of cases) {
      const { decoder, out, counters } = collecting();
      decoder.push(Buffer.concat([c.bytes, good]), 0);
      expect({ name: c.name, count: counters[c.kind], others: rejected(counters) - counters[c.kind] }).toEqual({ name: c.name, count: 1, others: 0 });
      expect(out, c.name).toHaveLength(1);
      expect(counters.samples, c.name).toBe(1);
    }
  });

  it('accepts lower-case checksum digits and a bare LF', () => {
    const { decoder, out } = collecting();
    const line = encodeSampleLine({ deviceTs: 1, seq: 1, raw: [171] }).toString('latin1');
    decoder.push(Buffer.from(line.replace(/\*([0-9A-F]{4})\r\n$/, (_, h: string) => `*${h.toLowerCase()}\n`)), 0);
    expect(out).toHaveLength(1);
  });

  it('parses every example line of the protocol README', () => {
    const text = readFileSync(README, 'utf8');
    const blocks = [...text.matchAll(/```scale-line\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => l.startsWith('$'));
    expect(lines.length).toBeGreaterThanOrEqual(10);
    const { decoder, out, counters } = collecting();
    for (const line of lines) decoder.push(Buffer.from(`${line}\r\n`, 'latin1'), 0);
    expect(rejected(counters)).toBe(0);
    expect(accepted(counters)).toBe(lines.length);
    // The example stream is self-consistent: samples carry the plates the identity announces.
    const identity = out.find((d) => d.type === 'identity');
    expect(identity?.type === 'identity' && identity.identity.plateCount).toBe(6);
    for (const d of out) if (d.type === 'sample') expect(d.sample.raw).toHaveLength(6);
  });
});

describe('scale line decoder under fuzzing', () => {
  it('survives 256 KiB of random bytes in random chunks and resynchronises afterwards', () => {
    const rng = xoroshiro128plus(0x5ca1e);
    const noise = Buffer.alloc(256 * 1024);
    for (let i = 0; i < noise.length; i++) {
      // Weighted towards the protocol's own bytes so the decoder's states are all exercised.
      const pick = uniformInt(rng, 0, 199);
      noise[i] = pick === 0 ? 0x24 : pick === 1 ? 0x0a : pick < 12 ? 0x2c : pick < 16 ? 0x2a : pick < 80 ? 0x30 + uniformInt(rng, 0, 9) : uniformInt(rng, 0, 255);
    }
    const { decoder, out, counters } = collecting();
    for (let at = 0; at < noise.length; ) {
      const n = uniformInt(rng, 1, 700);
      decoder.push(noise.subarray(at, at + n), at);
      at += n;
    }
    expect(counters.bytes).toBe(noise.length);
    expect(counters.lines).toBeGreaterThan(1000);
    expect(rejected(counters)).toBeGreaterThan(1000);
    for (const kind of ['missingStart', 'overlong', 'badFraming', 'garbageBytes'] as const) expect(counters[kind], kind).toBeGreaterThan(0);
    const before = out.length;
    decoder.push(encodeSampleLine({ deviceTs: 123, seq: 45, raw: [6, 7, 8] }), 9);
    expect(out.length).toBe(before + 1);
    expect(out.at(-1)).toEqual({ type: 'sample', sample: { deviceTs: 123, seq: 45, raw: [6, 7, 8], plateError: [0, 0, 0], receivedAt: 9 } });
  });

  it('never accepts a mutated line and keeps every intact one', () => {
    const rng = xoroshiro128plus(2024);
    const sent: { seq: number; raw: number[] }[] = [];
    const lines: Buffer[] = [];
    for (let seq = 0; seq < 6_000; seq++) {
      const raw = Array.from({ length: 6 }, () => uniformInt(rng, -8_388_608, 8_388_607));
      sent.push({ seq, raw });
      lines.push(encodeSampleLine({ deviceTs: seq * 17, seq, raw }));
    }
    let mutated = 0;
    const damaged = lines.map((line) => {
      if (uniformInt(rng, 0, 9) !== 0) return line;
      mutated += 1;
      const bytes = [...line];
      const at = uniformInt(rng, 0, bytes.length - 1);
      const how = uniformInt(rng, 0, 2);
      if (how === 0) bytes[at] = uniformInt(rng, 0, 255);
      else if (how === 1) bytes.splice(at, 1);
      else bytes.splice(at, 0, uniformInt(rng, 0, 255));
      return Buffer.from(bytes);
    });
    const stream = Buffer.concat(damaged);
    expect(stream.length).toBeGreaterThan(200_000);
    const { decoder, out, counters } = collecting();
    for (let at = 0; at < stream.length; ) {
      const n = uniformInt(rng, 1, 300);
      decoder.push(stream.subarray(at, at + n), 0);
      at += n;
    }
    const intact = damaged.filter((d, i) => d.equals(lines[i]!)).length;
    expect(intact).toBe(6_000 - mutated);
    // A mutation can be a no-op (a byte replaced by itself), so it may still be accepted: but only unchanged.
    expect(out.length).toBeGreaterThanOrEqual(intact);
    for (const d of out) {
      if (d.type !== 'sample') throw new Error(`unexpected ${d.type} from sample lines`);
      expect(d.sample.raw).toEqual(sent[d.sample.seq]!.raw);
    }
    expect(rejected(counters)).toBeGreaterThanOrEqual(mutated - (out.length - intact));
    expect(counters.checksumErrors).toBeGreaterThan(0);
  });
});
