import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { LiveSimulation } from '../sim/live/live-simulation.js';
import { recordSimulation } from '../sim/record-simulation.js';
import { resolveScenario, type ScenarioKnobs } from '../sim/scenario.js';
import type { StoreConfig } from '../../../device-config/schema.js';
import { loadStoreOrReport } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface SimOptions {
  config: string;
  seed: number;
  minutes?: number;
  shoppers?: number;
  profile?: string;
  out?: string;
  video: boolean;
  knobs?: string;
  live?: boolean;
  shoppersPerHour?: number;
}

function parseKnobs(text: string | undefined): Partial<ScenarioKnobs> {
  if (text === undefined) return {};
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--knobs takes a JSON object');
  return parsed as Partial<ScenarioKnobs>;
}

/** `edge-agent sim`: a simulated store day written as a recording, or (`--live`) live devices. */
export async function simulate(options: SimOptions, io: CliIo, log: Logger): Promise<number> {
  const config = await loadStoreOrReport(options.config, io);
  if (!config) return EXIT_BAD_INPUT;
  let knobs: Partial<ScenarioKnobs>;
  try {
    knobs = parseKnobs(options.knobs);
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return EXIT_BAD_INPUT;
  }
  if (options.live) return simulateLive(config, options, knobs, io, log);

  if (!options.out) {
    io.err('error: --out DIR is required (or --live)');
    return EXIT_BAD_INPUT;
  }
  if (existsSync(options.out) && readdirSync(options.out).length > 0) {
    io.err(`error: ${options.out} is not empty; choose a new folder for the recording`);
    return EXIT_BAD_INPUT;
  }
  let scenario;
  try {
    scenario = resolveScenario({ seed: options.seed, minutes: options.minutes ?? 5, shoppers: options.shoppers ?? 10, profile: options.profile ?? 'easy', knobs });
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return EXIT_BAD_INPUT;
  }
  const summary = await recordSimulation({ config, scenario, out: options.out, video: options.video, createdBy: `edge-agent sim ${agentVersion()}` });
  io.err(
    `recorded ${summary.durationSeconds} s of store ${config.store.id} (seed ${summary.seed}, ${summary.profile}): ${summary.shoppers} shoppers, ` +
      `${summary.weightEvents} weight events, ${summary.receipts} receipts in ${summary.wallSeconds} s → ${summary.out}`,
  );
  printResult(io, { ok: true, ...summary });
  return EXIT_OK;
}

async function simulateLive(config: StoreConfig, options: SimOptions, knobs: Partial<ScenarioKnobs>, io: CliIo, log: Logger): Promise<number> {
  const scenario = resolveScenario({ seed: options.seed, minutes: 1, shoppers: 0, profile: options.profile ?? 'busy', startAt: Date.now(), knobs });
  const live = new LiveSimulation(config, scenario, options.shoppersPerHour ?? 120, log);
  const map = await live.start();
  printResult(io, { event: 'ready', ...map });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // The demo runs the simulator as a child: when the parent goes, so does the simulator.
    process.stdin.once('end', stop);
    process.stdin.resume();
  });
  await live.stop();
  return EXIT_OK;
}
