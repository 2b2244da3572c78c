import { describeError } from '../errors.js';
import type { WeightEvent } from '../shelf/weight-event.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { RecordingError } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { AutoCheckoutImportError } from '../recording/autocheckout-problem.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface ReplayCliOptions {
  speed: string;
  dataDir?: string;
  port?: number;
  format: string;
  catalog?: string;
  /** Print every weight event as a JSON line before the summary (always on for AutoCheckout exports). */
  events?: boolean;
  truthFloor?: boolean;
  floorNoise?: number;
  floorMiss?: number;
  resumeFrom?: number;
  syncUrl?: string;
  progress?: boolean;
}

/** `edge-agent replay DIR`: the full agent on a recording; a JSON summary on the last line. */
export async function replayCommand(dir: string, options: ReplayCliOptions, io: CliIo, log: Logger): Promise<number> {
  const speed = options.speed === 'max' ? Infinity : Number(options.speed);
  if (!(speed > 0)) {
    io.err(`error: --speed takes a positive number or "max", not ${options.speed}`);
    return EXIT_BAD_INPUT;
  }
  if (options.format !== 'recording' && options.format !== 'autocheckout') {
    io.err(`error: --format is "recording" or "autocheckout", not ${options.format}`);
    return EXIT_BAD_INPUT;
  }
  if (options.format === 'autocheckout' && !options.catalog) {
    io.err('error: --format autocheckout needs --catalog FILE (the product catalogue CSV)');
    return EXIT_BAD_INPUT;
  }
  let ticker: NodeJS.Timeout | undefined;
  try {
    const summary = await replay({
      dir,
      speed,
      log,
      version: agentVersion(),
      onAgent: (a) => {
        if (options.progress) ticker = setInterval(() => io.out(JSON.stringify({ at: Math.floor(a.now) })), 250);
      },
      ...(options.truthFloor ? { truthFloor: { seed: 1, noiseM: options.floorNoise ?? 0.1, missRate: options.floorMiss ?? 0.05 } } : {}),
      ...(options.resumeFrom !== undefined ? { resumeFrom: options.resumeFrom } : {}),
      ...(options.syncUrl ? { syncUrl: options.syncUrl } : {}),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.format === 'autocheckout' ? { autocheckoutCatalog: options.catalog! } : {}),
    });
    clearInterval(ticker);
    for (const p of summary.problems) io.err(`warning: ${p}`);
    const { weightEvents, ...rest } = summary;
    if (options.events || options.format === 'autocheckout') for (const e of weightEvents) io.out(JSON.stringify(describeEvent(e)));
    io.err(
      `replayed ${summary.recordedSeconds} s of ${summary.recording} in ${summary.wallSeconds} s (${summary.speedup}× real time); ` +
        `facts ${summary.facts.sha256.slice(0, 12)} in ${summary.dataDir}`,
    );
    const { footfall, topDwellZones } = summary.analytics;
    io.err(
      `footfall: ${footfall.entries} in, ${footfall.exits} out (by ${footfall.countedBy}), ${footfall.visits} visits on the floor, conversion ${footfall.conversion ?? '–'}; ` +
        `top dwell: ${topDwellZones.map((z) => `${z.name} ${Math.round(z.dwellSeconds)} s over ${z.visits} visits`).join(', ') || 'none (no shoppers tracked on the floor)'}`,
    );
    printResult(io, { ok: true, ...rest, weightEvents: weightEvents.length });
    return EXIT_OK;
  } catch (err) {
    clearInterval(ticker);
    if (err instanceof RecordingError || err instanceof AutoCheckoutImportError) {
      io.err(`error: ${err.message}`);
      printResult(io, { ok: false, error: err.message });
      return EXIT_BAD_INPUT;
    }
    io.err(`error: replay failed: ${describeError(err)}`);
    throw err;
  }
}

/** A weight event as an operator reads it: where, when, how much, and what it most likely was. */
function describeEvent(e: WeightEvent) {
  const [gondola, shelf] = e.shelf.split('.').map(Number);
  return {
    event: 'weight',
    id: e.id,
    gondola,
    shelf,
    plates: e.plates.map((p) => Number(p.split('.')[2])),
    time: new Date(e.tStart).toISOString(),
    durationSeconds: Math.round(e.tEnd - e.tStart) / 1000,
    deltaGrams: e.deltaGrams,
    kind: e.kind,
    candidates: e.candidates.slice(0, 3),
    ...(e.flags.length > 0 ? { flags: e.flags } : {}),
  };
}
