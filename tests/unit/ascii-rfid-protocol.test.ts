import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import {
  ASCII_RFID_MAX_LINE_BYTES,
  AsciiRfidDecoder,
  DEFAULT_RFID_LINE_PATTERN,
  compileLinePattern,
  encodeAsciiTagLine,
  type AsciiRfidCounters,
} from '../../edge-agent/src/devices/rfid/ascii-rfid-protocol.js';

const README = join(import.meta.dirname, '..', '..', 'edge-agent', 'src', 'devices', 'rfid', 'README.md');

interface Read {
  epc: string;
  antenna: number;
  rssi: number;
  at: number;
}

function collecting(linePattern?: string): { decoder: AsciiRfidDecoder; out: Read[]; counters: AsciiRfidCounters } {
  const out: Read[] = [];
  const decoder = new AsciiRfidDecoder((r) => out.push({ epc: r.epc, antenna: r.antenna, rssi: r.rssi, at: r.receivedAt }), linePattern);
  return { decoder, out, counters: decoder.counters };
}

const BAD = ['malformed', 'overlong'] as const;
const rejected = (c: AsciiRfidCounters) => c.malformed + c.overlong;

describe('ASCII RFID lines, default grammar', () => {
  it('round-trips reads through the encoder', () => {
    const reads = [
      { epc: 'E28011606000020B6D2D5A1B' },
      { epc: 'e28011606000020b6d2d5a1b', antenna: 2 },
      { epc: 'E2003412', antenna: 16, rssi: -61.5 },
      { epc: 'AB'.repeat(31), rssi: -100 },
      { epc: '3005FB63AC1F3681EC880468', antenna: 0, rssi: -0.5 },
    ];
    const { decoder, out, counters } = collecting();
    for (const r of reads) decoder.push(encodeAsciiTagLine(r, r.antenna === 2 ? '\n' : '\r\n'), 7);
    expect(out).toEqual(reads.map((r) => ({ epc: r.epc.toUpperCase(), antenna: r.antenna ?? 1, rssi: r.rssi ?? Number.NaN, at: 7 })));
    expect(counters).toMatchObject({ lines: reads.length, reads: reads.length, malformed: 0, overlong: 0, blank: 0 });
    expect(encodeAsciiTagLine({ epc: 'E2003412', antenna: 2, rssi: -61.5 }).toString('latin1')).toBe('E2003412,2,-61.5\r\n');
    expect(encodeAsciiTagLine({ epc: 'E2003412', rssi: -48 }).toString('latin1')).toBe('E2003412,1,-48.0\r\n');
  });

  it('refuses to encode what the grammar cannot carry', () => {
    expect(() => encodeAsciiTagLine({ epc: 'E200341' })).toThrow(/EPC/);
    expect(() => encodeAsciiTagLine({ epc: 'E20034' })).toThrow(/EPC/);
    expect(() => encodeAsciiTagLine({ epc: 'AB'.repeat(32) })).toThrow(/EPC/);
    expect(() => encodeAsciiTagLine({ epc: 'E2003412', antenna: 100 })).toThrow(/antenna/);
    expect(() => encodeAsciiTagLine({ epc: 'E2003412', rssi: 3 })).toThrow(/rssi/);
    expect(() => encodeAsciiTagLine({ epc: 'E2003412', rssi: Number.NaN })).toThrow(/rssi/);
  });

  it('parses every example line of the README', () => {
    const text = readFileSync(README, 'utf8');
    const blocks = [...text.matchAll(/```rfid-ascii\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lines = blocks.flatMap((b) => b.split('\n')).filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const { decoder, out, counters } = collecting();
    for (const line of lines) decoder.push(Buffer.from(`${line}\n`, 'latin1'), 0);
    expect(rejected(counters)).toBe(0);
    expect(out).toHaveLength(lines.length);
    expect(out[1]).toEqual({ epc: 'E28011606000020B6D2D5A1B', antenna: 2, rssi: -61.5, at: 0 });
    expect(out[2]).toEqual({ epc: 'E2003412', antenna: 1, rssi: Number.NaN, at: 0 });
  });

  it('accepts every separator and surrounding blanks', () => {
    const { decoder, out, counters } = collecting();
    decoder.push(Buffer.from(' \tE2003412 ;\t, 3 ,; -70.25 \t\r\nE2003412\t4\n', 'latin1'), 0);
    expect(out).toEqual([
      { epc: 'E2003412', antenna: 3, rssi: -70.25, at: 0 },
      { epc: 'E2003412', antenna: 4, rssi: Number.NaN, at: 0 },
    ]);
    expect(rejected(counters)).toBe(0);
  });

  it('counts bad lines and goes on with the next one', () => {
    const cases: { name: string; line: string; kind: (typeof BAD)[number] }[] = [
      { name: 'EPC too short', line: 'E20034', kind: 'malformed' },
      { name: 'odd number of digits', line: 'E2003412A', kind: 'malformed' },
      { name: 'EPC too long', line: 'AB'.repeat(32), kind: 'malformed' },
      { name: 'not hex', line: 'E20034G2', kind: 'malformed' },
      { name: 'trailing separator', line: 'E2003412,', kind: 'malformed' },
      { name: 'antenna of 3 digits', line: 'E2003412,100', kind: 'malformed' },
      { name: 'RSSI without minus', line: 'E2003412,1,61', kind: 'malformed' },
      { name: 'RSSI without antenna', line: 'E2003412,-61', kind: 'malformed' },
      { name: 'RSSI with 4 digits', line: 'E2003412,1,-1000', kind: 'malformed' },
      { name: 'RSSI without decimals after the dot', line: 'E2003412,1,-61.', kind: 'malformed' },
      { name: 'a fourth field', line: 'E2003412,1,-61,9', kind: 'malformed' },
      { name: 'control byte', line: 'E2003412\x00', kind: 'malformed' },
      { name: 'non-ASCII byte', line: 'E2003412\xe9', kind: 'malformed' },
      { name: 'prefix', line: 'EPC:E2003412', kind: 'malformed' },
      { name: 'over-long', line: `E2003412,1,-61${' '.repeat(ASCII_RFID_MAX_LINE_BYTES)}`, kind: 'overlong' },
    ];
    const good = encodeAsciiTagLine({ epc: 'E2003412', antenna: 2, rssi: -50 });
    for (const c of cases) {
      const { decoder, out, counters } = collecting();
      decoder.push(Buffer.concat([Buffer.from(`${c.line}\r\n`, 'latin1'), good]), 0);
      expect({ name: c.name, count: counters[c.kind], others: rejected(counters) - counters[c.kind] }).toEqual({ name: c.name, count: 1, others: 0 });
      expect(out, c.name).toEqual([{ epc: 'E2003412', antenna: 2, rssi: -50, at: 0 }]);
    }
  });

  it('keeps a line of exactly the longest length and ignores blank lines', () => {
    const { decoder, out, counters } = collecting();
    const line = `E2003412,1,-61${' '.repeat(ASCII_RFID_MAX_LINE_BYTES - 16)}\r\n`;
    expect(line.length).toBe(ASCII_RFID_MAX_LINE_BYTES);
    decoder.push(Buffer.from(`\n\r\n \t\n${line}`, 'latin1'), 0);
    expect(out).toHaveLength(1);
    expect(counters).toMatchObject({ blank: 3, lines: 4, overlong: 0 });
  });

  it('decodes the same reads whatever the chunk boundaries', () => {
    const stream = Buffer.concat([
      encodeAsciiTagLine({ epc: 'E28011606000020B6D2D5A1B', antenna: 1, rssi: -61.5 }),
      Buffer.from('garbage\n', 'latin1'),
      Buffer.from(`${'9'.repeat(300)}\n`, 'latin1'),
      encodeAsciiTagLine({ epc: 'e2003412' }, '\n'),
      Buffer.from('\r\n', 'latin1'),
      encodeAsciiTagLine({ epc: '3005FB63AC1F3681EC880468', antenna: 2 }),
    ]);
    const whole = collecting();
    whole.decoder.push(stream, 0);
    expect(whole.out.map((r) => r.epc)).toEqual(['E28011606000020B6D2D5A1B', 'E2003412', '3005FB63AC1F3681EC880468']);
    expect(whole.counters).toMatchObject({ malformed: 1, overlong: 1, blank: 1 });
    for (let split = 0; split <= stream.length; split++) {
      const parts = collecting();
      parts.decoder.push(stream.subarray(0, split), 0);
      parts.decoder.push(stream.subarray(split), 0);
      expect(parts.out).toEqual(whole.out);
      expect(parts.counters).toEqual(whole.counters);
    }
  });

  it('agrees with the documented regular expression on random lines', () => {
    const re = new RegExp(DEFAULT_RFID_LINE_PATTERN);
    const rng = xoroshiro128plus(0xa5c11);
    const pick = <T,>(items: readonly T[]): T => items[uniformInt(rng, 0, items.length - 1)]!;
    const run = (chars: string, min: number, max: number) => Array.from({ length: uniformInt(rng, min, max) }, () => pick([...chars])).join('');
    const chance = (n: number) => uniformInt(rng, 0, n - 1) === 0;
    const separators = () => run(' \t,;', 0, 2);
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      // Lines shaped like the grammar with every part sometimes a little wrong: mostly near misses.
      let line = run(' \t', 0, 1) + run('0123456789abcdefABCDEF', 0, 66);
      if (!chance(4)) {
        line += separators() + run('0123456789', 0, 3);
        if (!chance(3)) line += separators() + (chance(8) ? '' : '-') + run('0123456789', 0, 4) + (chance(2) ? '.' + run('0123456789', 0, 4) : '');
      }
      if (chance(6)) line += pick([',', ';', '-', '.', 'x', '9', 'F']);
      line += run(' \t', 0, 1);
      const m = re.exec(line);
      const { decoder, out } = collecting();
      decoder.push(Buffer.from(`${line}\n`, 'latin1'), 0);
      if (!m) {
        expect(out, line).toEqual([]);
        continue;
      }
      accepted += 1;
      const g = m.groups!;
      expect(out, line).toEqual([{ epc: g['epc']!.toUpperCase(), antenna: g['antenna'] === undefined ? 1 : Number(g['antenna']), rssi: g['rssi'] === undefined ? Number.NaN : Number(g['rssi']), at: 0 }]);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('ASCII RFID lines, configured pattern', () => {
  const pattern = String.raw`^TAG:(?<epc>[0-9A-Fa-f]+) ANT:(?<antenna>\d+)(?: RSSI:(?<rssi>\S+))?$`;

  it('takes the EPC, antenna and RSSI from the named groups', () => {
    const { decoder, out, counters } = collecting(pattern);
    decoder.push(Buffer.from('TAG:e28011606000020b6d2d5a1b ANT:2 RSSI:-58.25\r\nTAG:E2003412 ANT:1\nE2003412,1,-61\n', 'latin1'), 3);
    expect(out).toEqual([
      { epc: 'E28011606000020B6D2D5A1B', antenna: 2, rssi: -58.25, at: 3 },
      { epc: 'E2003412', antenna: 1, rssi: Number.NaN, at: 3 },
    ]);
    // The default grammar no longer applies.
    expect(counters.malformed).toBe(1);
  });

  it('reads antenna 1 when the pattern has no antenna group', () => {
    const { decoder, out } = collecting(String.raw`(?<epc>[0-9A-F]{24})`);
    decoder.push(Buffer.from('read E28011606000020B6D2D5A1B at door\n', 'latin1'), 0);
    expect(out).toEqual([{ epc: 'E28011606000020B6D2D5A1B', antenna: 1, rssi: Number.NaN, at: 0 }]);
  });

  it('counts lines whose groups are not usable', () => {
    const { decoder, out, counters } = collecting(pattern);
    const lines = ['TAG:E20034 ANT:1', 'TAG:E2003412 ANT:123', 'TAG:E2003412 ANT:1 RSSI:loud', 'NOPE', 'TAG:E2003412 ANT:1 RSSI:-40'];
    decoder.push(Buffer.from(lines.map((l) => `${l}\n`).join(''), 'latin1'), 0);
    expect(counters.malformed).toBe(4);
    expect(out).toEqual([{ epc: 'E2003412', antenna: 1, rssi: -40, at: 0 }]);
  });

  it('accepts the README example pattern', () => {
    const text = readFileSync(README, 'utf8');
    const example = text.split('\n').find((l) => l.startsWith('^TAG:'));
    expect(example).toBeDefined();
    const { decoder, out } = collecting(example);
    decoder.push(Buffer.from('TAG:E2003412 ANT:2 RSSI:-61.5\n', 'latin1'), 0);
    expect(out).toEqual([{ epc: 'E2003412', antenna: 2, rssi: -61.5, at: 0 }]);
  });

  it('refuses patterns that cannot serve, with a clear message', () => {
    expect(() => compileLinePattern('(?<epc>[0-9A-F]+')).toThrow(/not a regular expression/);
    expect(() => compileLinePattern('(?<tag>[0-9A-F]+)')).toThrow(/named group \(\?<epc>…\)/);
    expect(() => new AsciiRfidDecoder(() => undefined, '(?<antenna>\\d)')).toThrow(/epc/);
  });
});

describe('ASCII RFID decoder under fuzzing', () => {
  it('survives 256 KiB of random bytes and parses a line after them', () => {
    const rng = xoroshiro128plus(0xa5c2);
    const noise = Buffer.alloc(256 * 1024);
    const alphabet = Buffer.from('0123456789ABCDEFabcdef,; \t-.\r', 'latin1');
    for (let i = 0; i < noise.length; i++) {
      const pick = uniformInt(rng, 0, 99);
      noise[i] = pick < 1 ? 0x0a : pick < 85 ? alphabet[uniformInt(rng, 0, alphabet.length - 1)]! : uniformInt(rng, 0, 255);
    }
    for (const linePattern of [undefined, String.raw`^(?<epc>[0-9A-F]+)[;,](?<antenna>\d*)[;,]?(?<rssi>.*)$`]) {
      const { decoder, out, counters } = collecting(linePattern);
      for (let at = 0; at < noise.length; ) {
        const n = uniformInt(rng, 1, 700);
        decoder.push(noise.subarray(at, at + n), at);
        at += n;
      }
      expect(counters.bytes).toBe(noise.length);
      expect(counters.lines).toBe(noise.filter((b) => b === 0x0a).length);
      expect(counters.reads + counters.malformed + counters.overlong + counters.blank).toBe(counters.lines);
      expect(counters.malformed).toBeGreaterThan(1000);
      expect(counters.overlong).toBeGreaterThan(0);
      for (const r of out) expect(r.epc).toMatch(/^(?:[0-9A-F]{2}){4,31}$/);
      const before = out.length;
      decoder.push(Buffer.from('\nE28011606000020B6D2D5A1B,2,-61.5\n', 'latin1'), 1);
      expect(out.length).toBe(before + 1);
      expect(out.at(-1)).toEqual({ epc: 'E28011606000020B6D2D5A1B', antenna: 2, rssi: -61.5, at: 1 });
    }
  });

  it('keeps every intact line of a mutated stream', () => {
    const rng = xoroshiro128plus(77);
    const lines: Buffer[] = [];
    for (let n = 0; n < 8_000; n++) {
      const epc = `E280${n.toString(16).padStart(4, '0')}${uniformInt(rng, 0, 0xffffff).toString(16).padStart(6, '0')}00`;
      lines.push(encodeAsciiTagLine({ epc, antenna: uniformInt(rng, 1, 4), rssi: -uniformInt(rng, 200, 900) / 10 }));
    }
    const damaged = lines.map((line) => {
      if (uniformInt(rng, 0, 9) !== 0) return line;
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
    const intactEpcs = damaged.filter((d, i) => d.equals(lines[i]!)).map((d) => d.toString('latin1').split(',')[0]!);
    const delivered = new Set(out.map((r) => r.epc));
    // An intact line is lost only when the line before it lost its LF and swallowed it.
    const lostLf = damaged.filter((d) => !d.includes(0x0a)).length;
    expect(intactEpcs.filter((epc) => !delivered.has(epc)).length).toBeLessThanOrEqual(lostLf);
    expect(counters.malformed).toBeGreaterThan(0);
    expect(counters.reads + counters.malformed + counters.overlong + counters.blank).toBe(counters.lines);
  });
});
