import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { loadStoreOrReport } from './load-store.js';
import { DATABASE_FILE } from '../db/database.js';
import { PlateCalibrationRepository } from '../db/repositories/plate-calibrations.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { record } from '../recording/recorder.js';
import type { LiveDeviceMap } from '../sim/live/device-map.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface RecordCliOptions {
  config: string;
  out: string;
  minutes?: number;
  /** The device map a running `edge-agent sim --live` printed, to record a simulated store. */
  simMap?: string;
  dataDir?: string;
}

/** `edge-agent record`: live feeds into a recording folder until the time is up or Ctrl-C. */
export async function recordCommand(options: RecordCliOptions, io: CliIo, log: Logger): Promise<number> {
  const config = await loadStoreOrReport(options.config, io);
  if (!config) return EXIT_BAD_INPUT;
  if (existsSync(options.out) && readdirSync(options.out).length > 0) {
    io.err(`error: ${options.out} is not empty; choose a new folder for the recording`);
    return EXIT_BAD_INPUT;
  }
  let resolveSim: ((name: string) => string | undefined) | undefined;
  if (options.simMap) {
    const map = JSON.parse(readFileSync(options.simMap, 'utf8')) as LiveDeviceMap;
    resolveSim = (name) => map.devices[name];
  }
  const db = join(options.dataDir ?? config.dataDir, DATABASE_FILE);
  let calibration: unknown;
  if (existsSync(db)) {
    const handle = new BetterSqlite3(db, { readonly: true });
    try {
      const latest = [...new PlateCalibrationRepository(handle).latest().values()];
      calibration = {
        plates: latest.map((c) => ({
          plate: c.plate,
          zeroCounts: c.zeroCounts,
          countsPerGram: c.countsPerGram,
          ...(c.knownMassGrams === null ? {} : { knownMassGrams: c.knownMassGrams }),
          operator: c.operator,
          calibratedAt: new Date(c.calibratedAt).toISOString(),
        })),
      };
    } finally {
      handle.close();
    }
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  io.err(`recording store ${config.store.id} into ${options.out}${options.minutes ? ` for ${options.minutes} min` : ''}; Ctrl-C stops`);
  const summary = await record({
    config,
    out: options.out,
    ...(options.minutes === undefined ? {} : { seconds: options.minutes * 60 }),
    signal: abort.signal,
    log,
    createdBy: `edge-agent record ${agentVersion()}`,
    ...(resolveSim ? { resolveSim } : {}),
    ...(calibration ? { calibration } : {}),
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  printResult(io, { ok: true, ...summary });
  return EXIT_OK;
}
