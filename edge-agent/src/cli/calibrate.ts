import { createInterface } from 'node:readline/promises';
import { hostname, userInfo } from 'node:os';
import { CalibrationError, computeCalibration, PlateSampler } from '../../../calibration/scale-calibration.js';
import { EventBus } from '../bus.js';
import { LiveClock } from '../clock.js';
import { loadStoreOrReport } from './load-store.js';
import { StoreDatabase } from '../db/database.js';
import { PlateCalibrationRepository } from '../db/repositories/plate-calibrations.js';
import { ScaleAdapter } from '../devices/scale/scale-adapter.js';
import { createTransport } from '../devices/serial/transport-factory.js';
import { sleep } from '../backoff.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { StoreLayout } from '../sim/store-layout.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, printResult, type CliIo } from './output.js';

/** Readings in the first half second after Enter are the hand leaving the plate, not the plate. */
const SETTLE_MS = 500;

export interface CalibrateScaleOptions {
  config: string;
  plate: string;
  known: number;
  operator?: string;
  dataDir?: string;
  seconds: number;
  /** sim name → URL, when calibrating a simulated store. */
  resolveSim?: (name: string) => string | undefined;
}

/**
 * `edge-agent calibrate scale --plate G.S.P --known 500`: asks the operator to empty the plate,
 * then to put the reference mass on it, measures both, and records tare and span with the date
 * and the operator. Talks to the shelf controller directly, so the agent must not hold its port.
 */
export async function calibrateScale(options: CalibrateScaleOptions, io: CliIo, log: Logger, input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const config = await loadStoreOrReport(options.config, io);
  if (!config) return EXIT_BAD_INPUT;
  const layout = new StoreLayout(config);
  const plate = layout.plates.get(options.plate);
  if (!plate) {
    io.err(`error: no plate ${options.plate} in ${options.config} (plates are G.S.P, e.g. 1.2.3)`);
    return EXIT_BAD_INPUT;
  }
  if (!(options.known > 0)) {
    io.err('error: --known takes the reference mass in grams, more than 0');
    return EXIT_BAD_INPUT;
  }
  const shelf = layout.shelves.get(`${plate.gondola}.${plate.shelf}`)!;
  if (shelf.protocol !== 'scale-line') {
    io.err(`error: shelf ${shelf.key} speaks ${shelf.protocol}; the command calibrates scale-line controllers (use the admin page for others)`);
    return EXIT_BAD_INPUT;
  }
  const operator = options.operator ?? process.env['USER'] ?? userInfo().username;
  const sampler = new PlateSampler(plate.index);
  const clock = new LiveClock();
  const adapter = new ScaleAdapter({
    device: `shelf-${shelf.key}`,
    shelf: shelf.key,
    url: shelf.device,
    plateCount: shelf.plates.length,
    transport: (url) => createTransport(url, { clock, ...(options.resolveSim ? { resolveSim: options.resolveSim } : {}) }),
    clock,
    log,
    bus: new EventBus(log),
    sink: sampler.sink,
  });
  const prompt = createInterface({ input, output: process.stderr, terminal: false });
  const measure = async (what: string) => {
    await prompt.question(`${what}, then press Enter… `);
    io.err(`measuring for ${options.seconds} s — keep hands off the shelf`);
    // Let the plate settle from the hand that just left it before taking readings.
    await sleep(SETTLE_MS);
    sampler.reset();
    await sleep(options.seconds * 1000);
    return sampler.reading();
  };
  await adapter.start();
  try {
    const zero = await measure(`Remove everything from plate ${plate.key}`);
    const loaded = await measure(`Put the ${options.known} g reference mass in the middle of plate ${plate.key}`);
    const result = computeCalibration(zero, loaded, options.known);
    const database = new StoreDatabase(options.dataDir ?? config.dataDir, log);
    await database.start();
    try {
      const calibratedAt = Date.now();
      new PlateCalibrationRepository(database.handle).record({
        plate: plate.key,
        zeroCounts: result.zeroCounts,
        countsPerGram: result.countsPerGram,
        knownMassGrams: options.known,
        operator,
        calibratedAt,
        source: `calibrate-cli@${hostname()}`,
      });
    } finally {
      await database.stop();
    }
    io.err(
      `plate ${plate.key} calibrated by ${operator}: zero ${result.zeroCounts.toFixed(0)} counts, ${result.countsPerGram.toFixed(3)} counts/g ` +
        `(noise ${result.zeroNoiseGrams.toFixed(2)} g empty, ${result.loadedNoiseGrams.toFixed(2)} g loaded); restart the agent to use it`,
    );
    printResult(io, { ok: true, plate: plate.key, operator, ...result });
    return EXIT_OK;
  } catch (err) {
    const message = err instanceof CalibrationError ? err.message : describeError(err);
    io.err(`error: calibration of plate ${plate.key} failed: ${message}`);
    printResult(io, { ok: false, plate: plate.key, error: message });
    return err instanceof CalibrationError ? EXIT_BAD_INPUT : EXIT_FAILURE;
  } finally {
    prompt.close();
    await adapter.stop();
  }
}
