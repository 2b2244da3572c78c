import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import {
  R200Decoder,
  R200_COMMAND,
  R200_MAX_PARAMS,
  R200_NO_TAG,
  R200_TYPE,
  encodeErrorResponse,
  encodeGetPower,
  encodeModuleInfoRequest,
  encodeModuleInfoResponse,
  encodePowerResponse,
  encodeR200Frame,
  encodeSetPower,
  encodeSetRegion,
  encodeSingleInventory,
  encodeStartPolling,
  encodeStatusResponse,
  encodeStopPolling,
  encodeTagNotification,
  gen2Crc16,
  r200ErrorName,
  r200ParamByte,
  r200ParamText,
  r200ParamWord,
  type R200Counters,
  type R200Frame,
} from '../../edge-agent/src/devices/rfid/r200-protocol.js';

const README = join(import.meta.dirname, '..', '..', 'edge-agent', 'src', 'devices', 'rfid', 'README.md');

type Decoded =
  | { kind: 'tag'; rssi: number; pc: number; epc: string; crc: number; at: number }
  | { kind: 'error'; code: number; at: number }
  | { kind: 'response' | 'command'; command: number; params: number[]; at: number };

function copyFrame(kind: 'response' | 'command', f: R200Frame): Decoded {
  return { kind, command: f.command, params: Array.from(f.bytes.subarray(f.paramStart, f.paramStart + f.paramLength)), at: f.receivedAt };
}

function collecting(): { decoder: R200Decoder; out: Decoded[]; counters: R200Counters } {
  const out: Decoded[] = [];
  const decoder = new R200Decoder({
    tag: (t) => out.push({ kind: 'tag', rssi: t.rssi, pc: t.pc, epc: t.epc, crc: t.crc, at: t.receivedAt }),
    moduleError: (code, at) => out.push({ kind: 'error', code, at }),
    response: (f) => out.push(copyFrame('response', f)),
    command: (f) => out.push(copyFrame('command', f)),
  });
  return { decoder, out, counters: decoder.counters };
}

const REJECTIONS = ['framingErrors', 'checksumErrors', 'truncated', 'unknownTypes', 'unknownCommands', 'badParameters', 'tagCrcErrors'] as const;
const rejected = (c: R200Counters) => REJECTIONS.reduce((sum, k) => sum + c[k], 0);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');
const fromHex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function bitwiseGen2Crc(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc ^ 0xffff;
}

describe('EPC Gen2 CRC-16', () => {
  it('has the standard check value, agrees with a bitwise implementation and with a real tag', () => {
    expect(gen2Crc16(Buffer.from('123456789'))).toBe(0xd64e);
    const rng = xoroshiro128plus(11);
    for (let n = 0; n < 200; n++) {
      const bytes = Buffer.alloc(uniformInt(rng, 0, 66));
      for (let i = 0; i < bytes.length; i++) bytes[i] = uniformInt(rng, 0, 255);
      expect(gen2Crc16(bytes)).toBe(bitwiseGen2Crc(bytes));
    }
    // PC 0x3400 and EPC of the notification example in the M100 manual, whose CRC is 0x3A76.
    expect(gen2Crc16(fromHex('3400 30751FEB705C5904E3D50D70'))).toBe(0x3a76);
  });
});

describe('R200 encoders and decoder', () => {
  it('round-trips every command the host sends', () => {
    const { decoder, out, counters } = collecting();
    const frames = [
      encodeModuleInfoRequest('hardware'),
      encodeModuleInfoRequest('software'),
      encodeModuleInfoRequest('manufacturer'),
      encodeSingleInventory(),
      encodeStartPolling(),
      encodeStartPolling(10_000),
      encodeStopPolling(),
      encodeSetPower(20),
      encodeSetPower(26.5),
      encodeGetPower(),
      encodeSetRegion('china-900'),
      encodeSetRegion('us'),
      encodeSetRegion('europe'),
      encodeSetRegion('china-800'),
      encodeSetRegion('korea'),
    ];
    decoder.push(Buffer.concat(frames), 5);
    const c = R200_COMMAND;
    expect(out).toEqual(
      [
        [c.moduleInfo, [0]],
        [c.moduleInfo, [1]],
        [c.moduleInfo, [2]],
        [c.inventory, []],
        [c.startPolling, [0x22, 0xff, 0xff]],
        [c.startPolling, [0x22, 0x27, 0x10]],
        [c.stopPolling, []],
        [c.setPower, [0x07, 0xd0]],
        [c.setPower, [0x0a, 0x5a]],
        [c.getPower, []],
        [c.setRegion, [1]],
        [c.setRegion, [2]],
        [c.setRegion, [3]],
        [c.setRegion, [4]],
        [c.setRegion, [6]],
      ].map(([command, params]) => ({ kind: 'command', command, params, at: 5 })),
    );
    expect(counters).toMatchObject({ frames: frames.length, commands: frames.length, garbageBytes: 0 });
    expect(rejected(counters)).toBe(0);
  });

  it('round-trips responses, notifications and errors, and reads their parameters', () => {
    const seen: string[] = [];
    const tags: { rssi: number; pc: number; epc: string; crc: number }[] = [];
    const errors: number[] = [];
    const decoder = new R200Decoder({
      response: (f) => {
        if (f.command === R200_COMMAND.moduleInfo) seen.push(`info ${r200ParamByte(f, 0)} ${r200ParamText(f, 1)}`);
        else if (f.command === R200_COMMAND.getPower) seen.push(`power ${r200ParamWord(f, 0) / 100}`);
        else seen.push(`status 0x${f.command.toString(16)} ${r200ParamByte(f, 0)}`);
        expect(r200ParamByte(f, f.paramLength)).toBe(-1);
        expect(r200ParamWord(f, f.paramLength - 1)).toBe(-1);
      },
      tag: (t) => tags.push({ rssi: t.rssi, pc: t.pc, epc: t.epc, crc: t.crc }),
      moduleError: (code) => errors.push(code),
    });
    const longest = 'A1B2'.repeat(31);
    decoder.push(
      Buffer.concat([
        encodeModuleInfoResponse('software', 'V3.2.1'),
        encodePowerResponse(26),
        encodeStatusResponse(R200_COMMAND.setRegion),
        encodeStatusResponse(R200_COMMAND.setPower, 0x17),
        encodeStatusResponse(R200_COMMAND.stopPolling),
        encodeTagNotification({ rssi: -55, epc: '30751FEB705C5904E3D50D70', pc: 0x3400 }),
        encodeTagNotification({ rssi: 127, epc: 'e2003412' }),
        encodeTagNotification({ rssi: -128, epc: longest }),
        encodeErrorResponse(R200_NO_TAG),
        encodeErrorResponse(0x20),
        encodeErrorResponse(0x99),
      ]),
      0,
    );
    expect(seen).toEqual(['info 1 V3.2.1', 'power 26', 'status 0x7 0', 'status 0xb6 23', 'status 0x28 0']);
    expect(tags).toEqual([
      { rssi: -55, pc: 0x3400, epc: '30751FEB705C5904E3D50D70', crc: 0x3a76 },
      { rssi: 127, pc: 0x1000, epc: 'E2003412', crc: gen2Crc16(fromHex('1000E2003412')) },
      { rssi: -128, pc: 31 << 11, epc: longest, crc: gen2Crc16(fromHex(`F800${longest}`)) },
    ]);
    expect(errors).toEqual([0x15, 0x20, 0x99]);
    expect(errors.map(r200ErrorName)).toEqual(['NO_TAG', 'FHSS_FAILED', 'CODE_0x99']);
    expect(decoder.counters).toMatchObject({ frames: 11, responses: 5, reads: 3, errorResponses: 3, garbageBytes: 0 });
    expect(rejected(decoder.counters)).toBe(0);
  });

  it('refuses to encode what the protocol cannot carry', () => {
    expect(() => encodeSetPower(-1)).toThrow(RangeError);
    expect(() => encodeSetPower(Number.NaN)).toThrow(/transmit power/);
    expect(() => encodeStartPolling(0x10000)).toThrow(/poll count/);
    expect(() => encodeSetRegion('mars' as 'us')).toThrow(/unknown region/);
    expect(() => encodeTagNotification({ rssi: -55, epc: 'E20034' })).toThrow(/words/);
    expect(() => encodeTagNotification({ rssi: -55, epc: 'E200'.repeat(32) })).toThrow(/words/);
    expect(() => encodeTagNotification({ rssi: -55.5, epc: 'E2003412' })).toThrow(/rssi/);
    expect(() => encodeModuleInfoResponse('hardware', 'M100\n')).toThrow(/ASCII/);
    expect(() => encodeR200Frame(3, 0x100)).toThrow(/command/);
    expect(() => encodeR200Frame(1, 1, new Array<number>(R200_MAX_PARAMS + 1).fill(0))).toThrow(/parameter bytes/);
  });

  it('hands out the same read and frame structures every time', () => {
    const reads = new Set<object>();
    const frames = new Set<object>();
    const decoder = new R200Decoder({ tag: (t) => reads.add(t), response: (f) => frames.add(f) });
    for (let i = 0; i < 10; i++) {
      decoder.push(encodeTagNotification({ rssi: -40 - i, epc: `E2000000${i.toString(16).padStart(4, '0')}` }), i);
      decoder.push(encodeStatusResponse(R200_COMMAND.setRegion), i);
    }
    expect(decoder.counters.reads).toBe(10);
    expect(reads.size).toBe(1);
    expect(frames.size).toBe(1);
  });

  it('decodes every example frame of the README, and they are what the encoders write', () => {
    const text = readFileSync(README, 'utf8');
    const blocks = [...text.matchAll(/```r200\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThanOrEqual(20);
    const { decoder, out, counters } = collecting();
    for (const line of lines) {
      expect(line, 'hex bytes only').toMatch(/^[0-9A-F]{2}( [0-9A-F]{2})+$/);
      decoder.push(fromHex(line), 0);
    }
    expect(rejected(counters)).toBe(0);
    expect(counters.garbageBytes).toBe(0);
    expect(counters.frames).toBe(lines.length);
    expect(out).toContainEqual({ kind: 'tag', rssi: -55, pc: 0x3400, epc: '30751FEB705C5904E3D50D70', crc: 0x3a76, at: 0 });
    const examples = [
      encodeModuleInfoRequest('hardware'),
      encodeModuleInfoResponse('hardware', 'M100 26dBm V1.0'),
      encodeSetRegion('europe'),
      encodeSetRegion('us'),
      encodeStatusResponse(R200_COMMAND.setRegion),
      encodeSetPower(20),
      encodeSetPower(26),
      encodeStatusResponse(R200_COMMAND.setPower),
      encodeGetPower(),
      encodePowerResponse(20),
      encodeSingleInventory(),
      encodeStartPolling(),
      encodeStartPolling(10_000),
      encodeStopPolling(),
      encodeStatusResponse(R200_COMMAND.stopPolling),
      encodeTagNotification({ rssi: -55, epc: '30751FEB705C5904E3D50D70', pc: 0x3400 }),
      encodeTagNotification({ rssi: -61, epc: 'E28011606000020B6D2D5A1B' }),
      encodeTagNotification({ rssi: -70, epc: 'E2003412' }),
      encodeErrorResponse(0x15),
      encodeErrorResponse(0x17),
      encodeErrorResponse(0x20),
    ];
    for (const frame of examples) expect(lines).toContain(hex(frame));
  });

  const stream = Buffer.concat([
    Buffer.from([0x00, 0x7e, 0x13]),
    encodeSetRegion('europe'),
    encodeStatusResponse(R200_COMMAND.setRegion),
    encodeTagNotification({ rssi: -61, epc: 'E28011606000020B6D2D5A1B' }), // its checksum is 0xBB
    Buffer.from('noise', 'latin1'),
    encodeErrorResponse(R200_NO_TAG),
    encodeTagNotification({ rssi: -48, epc: 'BBBB7E7EBB7E00BB' }),
    fromHex('BB 02 22 00 11 C9 34 00'), // cut short by the next frame
    encodeTagNotification({ rssi: -70, epc: 'E28011606000020B6D2D5A1B' }),
    encodeModuleInfoResponse('manufacturer', 'MagicRF'),
  ]);

  it('decodes the same frames and counts the same whatever the chunk boundaries', () => {
    const whole = collecting();
    whole.decoder.push(stream, 0);
    expect(whole.out.map((d) => d.kind)).toEqual(['command', 'response', 'tag', 'error', 'tag', 'tag', 'response']);
    expect(whole.counters).toMatchObject({ truncated: 1, garbageBytes: 3 + 5 + 8 });
    expect(rejected(whole.counters)).toBe(1);
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
    expect(bytewise.counters).toEqual(whole.counters);
  });

  it('stamps a frame with the reception time of its last byte', () => {
    const { decoder, out } = collecting();
    const frame = encodeErrorResponse(R200_NO_TAG);
    decoder.push(frame.subarray(0, 4), 100);
    decoder.push(frame.subarray(4), 250);
    expect(out).toEqual([{ kind: 'error', code: 0x15, at: 250 }]);
  });

  it('skips garbage between frames, however much of it, and parses the next frame', () => {
    const { decoder, out, counters } = collecting();
    const tag = (n: number) => encodeTagNotification({ rssi: -50, epc: `E200${n.toString(16).padStart(4, '0')}` });
    decoder.push(Buffer.from([0xff, 0xbb, 0xbb, 0x7e, 0x7e]), 0);
    decoder.push(tag(1), 0);
    decoder.push(Buffer.alloc(5000, 0x55), 0);
    decoder.push(tag(2), 0);
    // A header whose length points far ahead: the frames inside its span are still found.
    decoder.push(fromHex('BB 01 03 00 F0'), 0);
    for (let n = 3; n < 6; n++) decoder.push(tag(n), 0);
    decoder.push(Buffer.alloc(300), 0);
    expect(out.map((d) => d.kind === 'tag' && d.epc)).toEqual(['E2000001', 'E2000002', 'E2000003', 'E2000004', 'E2000005']);
    expect(counters.garbageBytes).toBe(5 + 5000 + 5 + 300);
    expect(counters.reads).toBe(5);
  });

  it('counts every kind of bad frame and parses the good frame after it', () => {
    const good = encodeTagNotification({ rssi: -44, epc: 'E2801160600002' + '0B6D2D5A1B' });
    const notification = encodeTagNotification({ rssi: -55, epc: '30751FEB705C5904E3D50D70' });
    const withByte = (frame: Buffer, at: number, value: number) => {
      const copy = Buffer.from(frame);
      copy[at < 0 ? copy.length + at : at] = value;
      return copy;
    };
    const cases: { name: string; bytes: Buffer; kind: (typeof REJECTIONS)[number] }[] = [
      { name: 'unknown type', bytes: encodeR200Frame(0x05, 0x22, [1]), kind: 'unknownTypes' },
      { name: 'impossible length', bytes: fromHex('BB 02 22 01 01 00'), kind: 'framingErrors' },
      { name: 'bad end byte', bytes: withByte(notification, -1, 0x7f), kind: 'framingErrors' },
      { name: 'frame cut short', bytes: notification.subarray(0, 10), kind: 'truncated' },
      { name: 'bad checksum', bytes: withByte(notification, -2, notification.at(-2)! ^ 0x01), kind: 'checksumErrors' },
      { name: 'unknown notification', bytes: encodeR200Frame(R200_TYPE.notification, 0x23, [1, 2]), kind: 'unknownCommands' },
      { name: 'unknown command', bytes: encodeR200Frame(R200_TYPE.command, 0x99), kind: 'unknownCommands' },
      { name: 'unknown response', bytes: encodeR200Frame(R200_TYPE.response, 0x55, [0]), kind: 'unknownCommands' },
      { name: 'EPC shorter than its PC says', bytes: encodeR200Frame(2, 0x22, [0xc9, 0x30, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]), kind: 'badParameters' },
      { name: 'EPC of no words', bytes: encodeR200Frame(2, 0x22, [0xc9, 0x00, 0x00, 0xe2, 0xf0]), kind: 'badParameters' },
      { name: 'notification too short', bytes: encodeR200Frame(2, 0x22, [0xc9, 0x30]), kind: 'badParameters' },
      { name: 'error of two bytes', bytes: encodeR200Frame(1, 0xff, [0x15, 0x00]), kind: 'badParameters' },
      { name: 'region command of two bytes', bytes: encodeR200Frame(0, 0x07, [3, 3]), kind: 'badParameters' },
      { name: 'empty status response', bytes: encodeR200Frame(1, 0x28), kind: 'badParameters' },
      { name: 'empty module information', bytes: encodeR200Frame(1, 0x03), kind: 'badParameters' },
      { name: 'tag CRC wrong', bytes: encodeTagNotification({ rssi: -55, epc: '30751FEB705C5904E3D50D70', crc: 0x3a77 }), kind: 'tagCrcErrors' },
    ];
    for (const c of cases) {
      const { decoder, out, counters } = collecting();
      decoder.push(Buffer.concat([c.bytes, good]), 0);
      expect({ name: c.name, count: counters[c.kind], others: rejected(counters) - counters[c.kind] }).toEqual({ name: c.name, count: 1, others: 0 });
      expect(out, c.name).toEqual([{ kind: 'tag', rssi: -44, pc: 0x3000, epc: 'E28011606000020B6D2D5A1B', crc: expect.any(Number), at: 0 }]);
    }
  });

  it('counts a partial frame dropped by a reset as truncated and starts clean', () => {
    const { decoder, out, counters } = collecting();
    const frame = encodeTagNotification({ rssi: -55, epc: '30751FEB705C5904E3D50D70' });
    decoder.push(frame.subarray(0, 12), 0);
    decoder.reset();
    decoder.reset();
    decoder.push(frame.subarray(12), 0);
    decoder.push(frame, 0);
    expect(counters.truncated).toBe(1);
    expect(out).toHaveLength(1);
  });
});

describe('R200 decoder under fuzzing', () => {
  it('survives 256 KiB of random bytes in random chunks and parses a frame after them', () => {
    const rng = xoroshiro128plus(0x200);
    const noise = Buffer.alloc(256 * 1024);
    for (let i = 0; i < noise.length; i++) {
      // Weighted towards the protocol's own bytes so that every rejection path is taken.
      const pick = uniformInt(rng, 0, 99);
      noise[i] = pick < 8 ? 0xbb : pick < 14 ? 0x7e : pick < 30 ? uniformInt(rng, 0, 2) : pick < 36 ? 0x22 : pick < 40 ? 0xff : uniformInt(rng, 0, 255);
    }
    const { decoder, out, counters } = collecting();
    for (let at = 0; at < noise.length; ) {
      const n = uniformInt(rng, 1, uniformInt(rng, 0, 9) === 0 ? 8000 : 300);
      decoder.push(noise.subarray(at, at + n), at);
      at += n;
    }
    expect(counters.bytes).toBe(noise.length);
    expect(counters.garbageBytes).toBeGreaterThan(noise.length / 2);
    for (const kind of ['framingErrors', 'truncated', 'unknownTypes'] as const) expect(counters[kind], kind).toBeGreaterThan(100);
    // A random 0x7E where a random length ends a frame is rare, a right checksum after it rarer.
    expect(counters.checksumErrors).toBeGreaterThan(0);
    const before = out.length;
    decoder.push(Buffer.concat([encodeTagNotification({ rssi: -33, epc: 'E2801160600002' + '0B6D2D5A1B' }), Buffer.alloc(R200_MAX_PARAMS + 7)]), 9);
    expect(out.length).toBe(before + 1);
    expect(out.at(-1)).toEqual({ kind: 'tag', rssi: -33, pc: 0x3000, epc: 'E28011606000020B6D2D5A1B', crc: expect.any(Number), at: 9 });
  });

  it('never delivers a damaged read and keeps every intact one', () => {
    const rng = xoroshiro128plus(2025);
    const sent: { rssi: number; epc: string }[] = [];
    const frames: Buffer[] = [];
    for (let n = 0; n < 10_000; n++) {
      // The EPC carries the frame's number, so every read can be checked against what was sent.
      const epc = `E280${n.toString(16).padStart(4, '0')}${uniformInt(rng, 0, 0xffff).toString(16).padStart(4, '0')}${'0'.repeat(4 * uniformInt(rng, 0, 4))}`.toUpperCase();
      const rssi = uniformInt(rng, -90, -20);
      sent.push({ rssi, epc });
      frames.push(uniformInt(rng, 0, 4) === 0 ? encodeErrorResponse(R200_NO_TAG) : Buffer.alloc(0), encodeTagNotification({ rssi, epc }));
    }
    let mutated = 0;
    const damaged = frames.map((frame) => {
      if (frame.length === 0 || uniformInt(rng, 0, 9) !== 0) return frame;
      mutated += 1;
      const bytes = [...frame];
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
      const n = uniformInt(rng, 1, 400);
      decoder.push(stream.subarray(at, at + n), 0);
      at += n;
    }
    const intact = damaged.filter((d, i) => d.length > 0 && d.equals(frames[i]!) && d[1] === R200_TYPE.notification);
    const intactTags = intact.length;
    const tags = out.filter((d) => d.kind === 'tag');
    const delivered = new Set(tags.map((t) => t.epc));
    // Every intact frame is found, even right after a damaged one whose declared span covers it.
    expect(intact.filter((frame) => !delivered.has(hex(frame.subarray(8, frame.length - 4)).replace(/ /g, '')))).toEqual([]);
    // A mutation can be a no-op (a byte replaced by itself), so more may pass: but only unchanged.
    expect(tags.length).toBeGreaterThanOrEqual(intactTags);
    expect(tags.length).toBeLessThanOrEqual(intactTags + mutated);
    for (const t of tags) {
      const n = Number.parseInt(t.epc.slice(4, 8), 16);
      expect({ rssi: t.rssi, epc: t.epc }).toEqual(sent[n]);
    }
    expect(out.filter((d) => d.kind !== 'tag').every((d) => d.kind === 'error' && d.code === R200_NO_TAG)).toBe(true);
    // A damaged header byte leaves no frame to reject, only garbage.
    expect(rejected(counters)).toBeGreaterThan(mutated / 2);
    expect(counters.checksumErrors).toBeGreaterThan(0);
    expect(counters.framingErrors + counters.truncated).toBeGreaterThan(0);
  });
});
