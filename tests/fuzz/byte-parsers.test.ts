/**
 * Fuzzing every byte parser with random and mutated input for a fixed, seeded budget: the shelf
 * controllers' line protocol, the M100/R200 RFID frames, ASCII RFID lines and gate lines, and the
 * Modbus register decoding. Each must never throw, count every byte it was given, find a good
 * frame again after any garbage, and not grow memory without bound. FUZZ_LONG=1 runs 50× more.
 */
import { describe, expect, it } from 'vitest';
import { encodeGateLine, GateLineDecoder } from '../../edge-agent/src/devices/gate/gate-protocol.js';
import { AsciiRfidDecoder } from '../../edge-agent/src/devices/rfid/ascii-rfid-protocol.js';
import { encodeR200Frame, encodeTagNotification, R200Decoder } from '../../edge-agent/src/devices/rfid/r200-protocol.js';
import { decodeReading } from '../../edge-agent/src/devices/scale/modbus-scale-adapter.js';
import { encodeErrorLine, encodeIdentityLine, encodeSampleLine, ScaleLineDecoder } from '../../edge-agent/src/devices/scale/scale-line-protocol.js';
import { Random } from '../../edge-agent/src/sim/random.js';

const ROUNDS = process.env['FUZZ_LONG'] ? 100_000 : 2_000;

/** Random bytes, or a valid message mutated: bits flipped, bytes dropped, inserted, repeated, cut. */
export function mutate(rng: Random, valid: readonly Buffer[]): Buffer {
  const kind = rng.int(0, 5);
  if (kind === 0) return Buffer.from(Array.from({ length: rng.int(0, 600) }, () => rng.int(0, 255)));
  let b = Buffer.from(valid[rng.int(0, valid.length - 1)]!);
  const edits = rng.int(1, 6);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = rng.int(0, b.length - 1);
    switch (rng.int(0, 4)) {
      case 0:
        b[at] = b[at]! ^ (1 << rng.int(0, 7));
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(0, 255)]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b, b.subarray(at)]);
        break;
      default:
        b = b.subarray(0, at);
    }
  }
  return b;
}

/** Pushes a buffer in random chunk sizes, as a serial port delivers it. */
function feed(push: (chunk: Uint8Array, at: number) => void, rng: Random, bytes: Buffer, at: number): void {
  let i = 0;
  while (i < bytes.length) {
    const n = Math.min(bytes.length - i, rng.int(1, 64));
    push(bytes.subarray(i, i + n), at);
    i += n;
  }
}

function heapMb(): number {
  return process.memoryUsage().heapUsed / 1_048_576;
}

interface Target {
  name: string;
  valid: (rng: Random) => Buffer[];
  make: () => { push(chunk: Uint8Array, at: number): void; bytes(): number; good(): number };
  /** A message that must decode after any garbage (once the line or frame is closed). */
  marker: Buffer;
  /** Bytes that end whatever partial line or frame the garbage left open. */
  flush: Buffer;
}

const TARGETS: Target[] = [
  {
    name: 'shelf controller lines',
    valid: (rng) => [
      encodeSampleLine({ deviceTs: rng.int(0, 1e9), seq: rng.int(0, 65535), raw: Array.from({ length: rng.int(1, 8) }, () => rng.int(-8_000_000, 8_000_000)) }),
      encodeIdentityLine({ firmware: '1.4.2', serial: 'A1', plateCount: 6, sampleRateHz: 60 }),
      encodeErrorLine({ code: 3, plate: 2, deviceTs: 5, text: 'ADC' }),
    ],
    make: () => {
      let samples = 0;
      const d = new ScaleLineDecoder({ sample: () => void (samples += 1) });
      return { push: (c, at) => d.push(c, at), bytes: () => d.counters.bytes, good: () => samples };
    },
    marker: encodeSampleLine({ deviceTs: 1, seq: 7, raw: [100, 200, 300] }),
    flush: Buffer.from('\n'),
  },
  {
    name: 'R200 RFID frames',
    valid: (rng) => [
      encodeTagNotification({ rssi: rng.int(-90, -30), epc: '3074257BF7194E4000001A85' }),
      encodeR200Frame(1, 0x27, [0x01]),
      encodeR200Frame(1, 0xff, [0x15]),
    ],
    make: () => {
      let tags = 0;
      const d = new R200Decoder({ tag: () => void (tags += 1) });
      return { push: (c, at) => d.push(c, at), bytes: () => d.counters.bytes, good: () => tags };
    },
    marker: encodeTagNotification({ rssi: -50, epc: '3074257BF7194E4000001A86' }),
    // The longest frame a broken header can claim, as padding: whatever it waits for has come.
    flush: Buffer.alloc(300, 0),
  },
  {
    name: 'ASCII RFID lines',
    valid: (rng) => [Buffer.from(`3074257BF7194E40000${rng.int(10000, 99999)},${rng.int(1, 4)},-${rng.int(30, 80)}\r\n`), Buffer.from('E2801160600002084B55A1F3\n')],
    make: () => {
      let reads = 0;
      const d = new AsciiRfidDecoder(() => void (reads += 1));
      return { push: (c, at) => d.push(c, at), bytes: () => d.counters.bytes, good: () => reads };
    },
    marker: Buffer.from('3074257BF7194E4000001A87\n'),
    flush: Buffer.from('\n'),
  },
  {
    name: 'gate lines',
    valid: (rng) => [encodeGateLine({ kind: 'scan', token: `tok-${rng.int(1, 1e6)}` }), encodeGateLine({ kind: 'pass', direction: 'in', deviceTs: rng.int(0, 1e9) }), encodeGateLine({ kind: 'pass', direction: 'out' })],
    make: () => {
      let readings = 0;
      const d = new GateLineDecoder('gate-1', () => void (readings += 1));
      return { push: (c, at) => d.push(c, at), bytes: () => d.counters.bytes, good: () => readings };
    },
    marker: encodeGateLine({ kind: 'pass', direction: 'out' }),
    flush: Buffer.from('\n'),
  },
];

describe(`byte parsers under fuzzing (${ROUNDS} inputs each, seeded)`, { timeout: 600_000 }, () => {
  for (const target of TARGETS) {
    it(`${target.name}: never throw, count every byte, resynchronise, bounded memory`, () => {
      const rng = new Random(20261206);
      const parser = target.make();
      let given = 0;
      const heapBefore = heapMb();
      for (let round = 0; round < ROUNDS; round++) {
        const input = mutate(rng, target.valid(rng));
        expect(() => feed(parser.push, rng, input, round)).not.toThrow();
        given += input.length;
        if (round % 97 === 0) {
          // After any garbage, a good message is found once the open line or frame is closed.
          const before = parser.good();
          feed(parser.push, rng, Buffer.concat([target.flush, target.marker]), round);
          given += target.flush.length + target.marker.length;
          expect(parser.good(), `${target.name}: the marker after round ${round}`).toBeGreaterThan(before);
        }
      }
      expect(parser.bytes()).toBe(given);
      expect(heapMb() - heapBefore).toBeLessThan(64);
    });
  }

  it('Modbus register pairs: any two 16-bit words decode to a 32-bit count or NaN, never throw', () => {
    const rng = new Random(7);
    for (let i = 0; i < ROUNDS * 10; i++) {
      const [a, b] = [rng.int(0, 65535), rng.int(0, 65535)];
      for (const format of ['int32', 'float32'] as const) {
        for (const order of ['big', 'little'] as const) {
          const v = decodeReading(a, b, format, order);
          if (Number.isNaN(v)) expect(format).toBe('float32');
          else expect(Number.isInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647).toBe(true);
        }
      }
    }
  });
});
