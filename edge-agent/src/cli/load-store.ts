import type { StoreConfig } from '../../../device-config/schema.js';
import type { ConfigIssue } from '../../../device-config/validate.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolve } from 'node:path';
import { StoreDatabase } from '../db/database.js';
import { describeError, isConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, printIssues, type CliIo } from './output.js';

/** Loads a store configuration for a command; a bad file is reported (`path: message`) and gives undefined. */
export async function loadStoreOrReport(file: string, io: CliIo): Promise<StoreConfig | undefined> {
  try {
    return (await loadConfigFile(file)).config;
  } catch (err) {
    if (!isConfigError(err)) throw err;
    io.err(`error: ${err.message}`);
    printIssues(io, (err.details['errors'] as ConfigIssue[] | undefined) ?? []);
    return undefined;
  }
}

/**
 * Runs a command's work on a store's database (the agent may be running on it too): a bad
 * configuration or a database that will not open is reported and gives the exit code instead.
 */
export async function withStoreDatabase<T>(
  options: { config: string; dataDir?: string },
  io: CliIo,
  log: Logger,
  work: (config: StoreConfig, database: StoreDatabase) => Promise<T>,
): Promise<T | number> {
  const config = await loadStoreOrReport(options.config, io);
  if (!config) return EXIT_BAD_INPUT;
  const database = new StoreDatabase(resolve(options.dataDir ?? config.dataDir), log.child({ module: 'db' }));
  try {
    await database.start();
  } catch (err) {
    io.err(`error: ${describeError(err)}`);
    return EXIT_FAILURE;
  }
  try {
    return await work(config, database);
  } finally {
    await database.stop();
  }
}
