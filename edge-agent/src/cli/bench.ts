import { cpus } from 'node:os';
import { benchShelf } from '../bench/shelf-bench.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

const BENCHES = {
  shelf: async () => {
    const r = await benchShelf();
    return {
      result: r,
      rows: [
        [`shelf: ${r.plates} plates at 60 Hz, bytes → weight events`, `${(r.samplesPerSecond / 1e6).toFixed(2)} M samples/s on one core`, `${r.timesRealTime}× real time (target ≥ 100×)`],
        ['shelf: cost per plate sample', `${r.nsPerSample} ns`, `${r.events} events in ${r.simulatedSeconds} s simulated`],
      ],
    };
  },
} as const;

/** `edge-agent bench [name…]`: figures as a markdown table on stderr and JSON on the last line. */
export async function bench(names: string[], io: CliIo): Promise<number> {
  const chosen = names.length === 0 ? (Object.keys(BENCHES) as (keyof typeof BENCHES)[]) : names;
  for (const n of chosen) {
    if (!(n in BENCHES)) {
      io.err(`error: unknown benchmark "${n}" (${Object.keys(BENCHES).join(', ')})`);
      return EXIT_BAD_INPUT;
    }
  }
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
  const results: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const n of chosen as (keyof typeof BENCHES)[]) {
    const { result, rows: r } = await BENCHES[n]();
    results[n] = result;
    rows.push(...r);
  }
  io.err(`| figure | measured | note |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\nmachine: ${machine}`);
  printResult(io, { ok: true, machine, ...results });
  return EXIT_OK;
}
