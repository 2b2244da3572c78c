import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import type { GateReading } from '../../edge-agent/src/devices/gate/gate-event.js';
import { GATE_MAX_LINE_BYTES, GateLineDecoder, encodeGateLine, type GateMessage } from '../../edge-agent/src/devices/gate/gate-protocol.js';

const README = join(import.meta.dirname, '..', '..', 'edge-agent', 'src', 'devices', 'gate', 'README.md');

function collecting(gate = 'entry-1') {
  const out: GateReading[] = [];
  const decoder = new GateLineDecoder(gate, (r) => out.push(r));
  return { decoder, out, counters: decoder.counters };
}

describe('gate protocol', () => {
  const messages: GateMessage[] = [
    { kind: 'scan', token: 'app1:7f3a9c20e1' },
    { kind: 'scan', token: '~'.repeat(128), deviceTs: 0 },
    { kind: 'pass', direction: 'in', deviceTs: 81_234 },
    { kind: 'pass', direction: 'out' },
    { kind: 'scan', token: 'card-04:A2:19', deviceTs: Number.MAX_SAFE_INTEGER },
  ];

  it('round-trips every message, with LF or CRLF', () => {
    for (const eol of ['\n', '\r\n'] as const) {
      const { decoder, out, counters } = collecting();
      decoder.push(Buffer.concat(messages.map((m) => encodeGateLine(m, eol))), 500);
      expect(out).toEqual(messages.map((m) => ({ gate: 'entry-1', ...m, at: 500 })));
      expect(counters).toMatchObject({ lines: 5, scans: 3, passes: 2, malformed: 0, overlong: 0 });
    }
  });

  it('writes the lines the README shows', () => {
    expect(encodeGateLine({ kind: 'pass', direction: 'in', deviceTs: 1_201_120 }).toString()).toBe('@1201120 PASS IN\r\n');
    expect(encodeGateLine({ kind: 'scan', token: 'app1:7f3a9c20e1', deviceTs: 1_200_345 }, '\n').toString()).toBe('@1200345 SCAN app1:7f3a9c20e1\n');
    const readme = readFileSync(README, 'utf8');
    const example = /## Example[\s\S]*?```\n([\s\S]*?)```/.exec(readme)![1]!;
    const { decoder, out, counters } = collecting();
    decoder.push(Buffer.from(example), 0);
    expect(counters.malformed).toBe(0);
    expect(out.map((r) => r.kind)).toEqual(['scan', 'pass', 'pass']);
  });

  it('refuses to encode what the protocol cannot carry', () => {
    expect(() => encodeGateLine({ kind: 'scan', token: 'has space' })).toThrow(/token/);
    expect(() => encodeGateLine({ kind: 'scan', token: '' })).toThrow(/token/);
    expect(() => encodeGateLine({ kind: 'scan', token: 'x'.repeat(129) })).toThrow(/token/);
    expect(() => encodeGateLine({ kind: 'scan', token: 'ok', deviceTs: -1 })).toThrow(/device time/);
    expect(() => encodeGateLine({ kind: 'pass' })).toThrow(/direction/);
  });

  it('decodes the same readings whatever the chunk boundaries', () => {
    const stream = Buffer.concat([...messages.map((m) => encodeGateLine(m)), Buffer.from('JUNK\n\n'), encodeGateLine(messages[0]!, '\n')]);
    const whole = collecting();
    whole.decoder.push(stream, 1);
    expect(whole.out).toHaveLength(6);
    for (let split = 0; split <= stream.length; split++) {
      const parts = collecting();
      parts.decoder.push(stream.subarray(0, split), 1);
      parts.decoder.push(stream.subarray(split), 1);
      expect(parts.out).toEqual(whole.out);
      expect(parts.counters).toEqual(whole.counters);
    }
  });

  it('counts each kind of bad line, skips it and parses the next one', () => {
    const bad = [
      'HELLO',
      'SCAN',
      'SCAN ',
      'SCAN two words',
      `SCAN ${'x'.repeat(129)}`,
      'scan lower-case',
      'PASS',
      'PASS UP',
      'PASS IN ',
      '@ PASS IN',
      '@12PASS IN',
      '@-5 PASS IN',
      '@12345678901234567 PASS IN',
      'SCAN caf\u00e9',
      'PASS\tIN',
    ];
    for (const line of bad) {
      const { decoder, out, counters } = collecting();
      decoder.push(Buffer.concat([Buffer.from(`${line}\r\n`, 'latin1'), encodeGateLine({ kind: 'pass', direction: 'out' })]), 0);
      expect({ line, malformed: counters.malformed, readings: out.length }).toEqual({ line, malformed: 1, readings: 1 });
      expect(decoder.lastProblem).toBeTypeOf('string');
    }
    const { decoder, out, counters } = collecting();
    decoder.push(Buffer.from(`SCAN ${'y'.repeat(GATE_MAX_LINE_BYTES)}\nPASS IN\n\r\n\n`), 0);
    expect(counters).toMatchObject({ overlong: 1, malformed: 0, blank: 2, passes: 1 });
    expect(out).toHaveLength(1);
  });

  it('survives random bytes and mutated streams without throwing, and recovers', () => {
    const rng = xoroshiro128plus(99);
    const { decoder, out, counters } = collecting();
    const noise = Buffer.alloc(64 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = uniformInt(rng, 0, 15) === 0 ? 0x0a : uniformInt(rng, 0, 255);
    for (let at = 0; at < noise.length; ) {
      const n = uniformInt(rng, 1, 300);
      decoder.push(noise.subarray(at, at + n), 0);
      at += n;
    }
    expect(counters.malformed + counters.overlong).toBeGreaterThan(100);
    const valid = Buffer.concat(Array.from({ length: 2_000 }, (_, i) => encodeGateLine(i % 2 ? { kind: 'pass', direction: 'in', deviceTs: i } : { kind: 'scan', token: `t${i}` })));
    const mutatedBytes = [...valid];
    for (let k = 0; k < 200; k++) mutatedBytes[uniformInt(rng, 0, mutatedBytes.length - 1)] = uniformInt(rng, 0, 255);
    const before = out.length;
    decoder.push(Buffer.from('\n'), 0);
    decoder.push(Buffer.from(mutatedBytes), 0);
    const got = out.length - before;
    expect(got).toBeGreaterThan(1_700);
    expect(got).toBeLessThanOrEqual(2_000 + 200);
    const last = out.length;
    decoder.push(Buffer.from('\nPASS OUT\n'), 7);
    expect(out.length).toBe(last + 1);
    expect(out.at(-1)).toEqual({ gate: 'entry-1', kind: 'pass', direction: 'out', at: 7 });
  });
});
