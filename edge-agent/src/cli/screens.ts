/**
 * `edge-agent screens …` on the store database: `urls` prints the address each shelf screen's
 * browser opens (with its token: from the environment variable the configuration names, else the
 * one the agent stored), `report` the cards shown and picks attributed per screen, and the uplift
 * of triggered cards over idle content.
 */
import { readSecrets } from '../config/secrets.js';
import { ScreenExposureRepository } from '../db/repositories/screen-exposures.js';
import type { Logger } from '../log.js';
import { withStoreDatabase } from './load-store.js';
import { EXIT_OK, printResult, timeRange, type CliIo } from './output.js';

export interface ScreensOptions {
  config: string;
  dataDir?: string;
  /** Base address of the admin server as the screens reach it (default: from the configuration). */
  baseUrl?: string;
  from?: string;
  to?: string;
}

export async function screensUrls(options: ScreensOptions, io: CliIo, log: Logger): Promise<number> {
  const result = await withStoreDatabase(options, io, log, async (config, database) => {
    const env = readSecrets(config).secrets.screenTokens;
    const repo = new ScreenExposureRepository(database.handle);
    const host = config.admin.host === '0.0.0.0' || config.admin.host === '::' ? '<this box>' : config.admin.host;
    const base = options.baseUrl ?? `http://${host}:${config.admin.port}`;
    return config.screens.map((s) => {
      const token = env.get(s.id) ?? repo.token(s.id, Date.now());
      return { screen: s.id, name: s.name, zone: s.zone, url: `${base}/screens/${encodeURIComponent(s.id)}?token=${encodeURIComponent(token)}`, tokenFrom: env.has(s.id) ? s.tokenEnv : 'store database' };
    });
  });
  if (typeof result === 'number') return result;
  for (const s of result) io.err(`${s.screen} (${s.name}, zone ${s.zone}): ${s.url}`);
  printResult(io, { ok: true, screens: result });
  return EXIT_OK;
}

export async function screensReport(options: ScreensOptions, io: CliIo, log: Logger): Promise<number> {
  const range = timeRange(options, io);
  if (typeof range === 'number') return range;
  const result = await withStoreDatabase(options, io, log, async (_config, database) => {
    const repo = new ScreenExposureRepository(database.handle);
    return { hours: repo.hour(range.from, range.to), uplift: repo.uplift(range.from, range.to) };
  });
  if (typeof result === 'number') return result;
  for (const u of result.uplift) {
    const rate = (x: { exposures: number; attributed: number; perExposure: number }) => `${x.attributed} picks / ${x.exposures} cards (${x.perExposure.toFixed(3)})`;
    io.err(`${u.screen}: triggered ${rate(u.triggered)}, idle ${rate(u.idle)}, uplift ${u.uplift === null ? 'n/a (no idle evidence)' : `${u.uplift.toFixed(2)}×`}`);
  }
  printResult(io, { ok: true, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), screens: result.hours, uplift: result.uplift });
  return EXIT_OK;
}
