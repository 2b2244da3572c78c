import type { StoreConfig } from '../../../device-config/schema.js';
import type { ConfigIssue } from '../../../device-config/validate.js';
import { loadConfigFile } from '../config/load-config.js';
import { isConfigError } from '../errors.js';
import { printIssues, type CliIo } from './output.js';

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
