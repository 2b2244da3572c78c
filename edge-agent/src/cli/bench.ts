import { cpus } from 'node:os';
import { benchShelf } from '../bench/shelf-bench.js';
import { benchAnalytics } from '../bench/analytics-bench.js';
import { benchRecognition } from '../bench/recognition-bench.js';
import { benchSync } from '../bench/sync-bench.js';
import { benchFacts } from '../bench/facts-bench.js';
import { benchCheckout } from '../bench/checkout-bench.js';
import { benchVision, type VisionBenchOptions } from '../bench/vision-bench.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

const BENCHES = {
  vision: async (options: BenchOptions) => {
    const r = await benchVision(options.vision ?? {});
    const rows: string[][] = [];
    for (const m of r.models) {
      rows.push([
        `vision: ${m.model} (${m.input}), camera scaled to ${m.frameSize}`,
        `session.run ${m.sessionRunMs.toFixed(2)} ms (back to back ${m.backToBackRunMs.toFixed(2)}); whole pipeline ${m.wholePipelineMs.toFixed(2)} ms: ${(['ingest', 'preprocess', 'workerRoundTrip', 'sessionRun', 'decodeAndNms', 'trackAndProject'] as const).map((k) => `${k} ${m.breakdownMs[k].toFixed(2)}`).join(', ')}; motion gate ${m.breakdownMs.motionAlongsideInference.toFixed(2)} alongside inference`,
        `overhead ${pct(m.overhead)} of inference (target ≤ 15 %); ${m.pipelineCamerasPerCoreAt5fps} cameras/core at 5 fps detecting every frame, decoding aside`,
      ]);
      const s = m.sustained;
      rows.push([
        `vision: ${m.model} at ${m.frameSize}, ${s.cameras} cameras at 5 fps for ${s.seconds} s, motion-gated`,
        `${s.processed}/${s.framesIn} frames processed, ${s.dropped} dropped (${pct(s.droppedShare)}), detector on ${pct(s.detectedShare)} of frames`,
        `agent ${s.agentCpuPercent} % + ffmpeg ${s.ffmpegCpuPercent} % of a core → ${s.camerasPerCore} cameras/core; RSS ≤ ${s.maxRssMb} MB; event loop p99 ${s.eventLoopP99Ms} ms`,
      ]);
    }
    rows.push(['vision: video', r.source, `${r.width}×${r.height}`]);
    return { result: r, rows };
  },
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
  recognition: async () => {
    const r = await benchRecognition();
    return {
      result: r,
      rows: [
        [
          `recognition: ${r.model}, one ${r.input} crop, one thread`,
          `session.run median ${r.sessionRunMs.median} ms (p95 ${r.sessionRunMs.p95}); whole recognition median ${r.recognizeOneCropMs.median} ms (p95 ${r.recognizeOneCropMs.p95})`,
          `target ≤ 5 ms; ${r.batchOf8PerCropMs} ms per crop when 8 wait together; gallery of ${r.galleryProducts} products`,
        ],
      ],
    };
  },
  analytics: async () => {
    const r = await benchAnalytics();
    const rows = Object.entries(r.tableRows)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    return {
      result: r,
      rows: [
        [
          `analytics: a day of simulated traffic (${r.shoppers} shoppers, ${r.simulatedHours} h, ${r.observations} floor observations)`,
          `${r.wallSeconds} s to store visits and heat and rebuild the hourly tables (target < 5 s)`,
          `${r.observationsPerSecond} observations/s, ${r.timesRealTime}× real time`,
        ],
        ['analytics: rows after the day', rows, `dwell within ±1 s ${pct(r.dwellWithinOneSecond)}, heatmap mass error ${pct(r.heatmapRelativeError)}, staff left out ${r.staffLeftOut}`],
      ],
    };
  },
  sync: async () => {
    const r = await benchSync();
    const rate = (v: number) => v.toLocaleString('en-US');
    return {
      result: r,
      rows: [
        [
          `sync: outbox → ${r.broker} QoS 1, ${rate(r.rows)} rows (${r.payloadBytes} B receipts, ${r.window} in flight)`,
          `${rate(r.outboxPerSecond)} rows/s vs bare mqtt.js loop ${rate(r.baselinePerSecond)} msg/s → ${r.ratio.toFixed(2)}× (target ≥ 0.8×)`,
          `outbox row write ${r.rowWriteMicros.ownTransaction} µs (own transaction), ${r.rowWriteMicros.batched} µs batched`,
        ],
      ],
    };
  },
  facts: async () => {
    const r = await benchFacts();
    const rate = (v: number) => v.toLocaleString('en-US');
    return {
      result: r,
      rows: [
        [
          `facts: SQLite writes, each in its own transaction (WAL, synchronous=NORMAL), ${rate(r.writes)} each`,
          `weight events ${rate(r.weightEventsPerSecond)}/s, gate events ${rate(r.gateEventsPerSecond)}/s; bare insert of the same row ${rate(r.bareInsertsPerSecond)}/s`,
          `repository ${r.ratio.toFixed(2)}× of the bare insert`,
        ],
      ],
    };
  },
  checkout: async () => {
    const r = await benchCheckout();
    return {
      result: r,
      rows: [
        [
          `checkout: exit pass handled → receipt and its outbox row committed (time on the box), busy simulated store (${r.shoppers} shoppers, ${r.simulatedMinutes} min) replayed through the agent`,
          r.receiptLatencyMs ? `p50 ${r.receiptLatencyMs.p50} ms, p95 ${r.receiptLatencyMs.p95} ms over ${r.receipts} receipts` : 'no receipts',
          `billed units F1 ${r.billedUnitsF1.toFixed(3)}; replay ${r.replayWallSeconds} s`,
        ],
      ],
    };
  },
} as const;

export interface BenchOptions {
  vision?: VisionBenchOptions;
}

/** `edge-agent bench [name…]`: figures as a markdown table on stderr and JSON on the last line. */
export async function bench(names: string[], io: CliIo, options: BenchOptions = {}): Promise<number> {
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
    const { result, rows: r } = await BENCHES[n](options);
    results[n] = result;
    rows.push(...r);
  }
  io.err(`| figure | measured | note |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\nmachine: ${machine}`);
  printResult(io, { ok: true, machine, ...results });
  return EXIT_OK;
}
