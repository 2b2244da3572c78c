import { loadConfigFile } from '../config/load-config.js';
import { readSecrets } from '../config/secrets.js';
import { isConfigError } from '../errors.js';
import type { ConfigIssue } from '../../../device-config/validate.js';
import { EXIT_BAD_INPUT, EXIT_OK, printIssues, printResult, type CliIo } from './output.js';

/**
 * `edge-agent check-config FILE`: every problem as `path: message` on stderr, a JSON summary as
 * the last stdout line, exit 0 (valid) or 2. Secrets missing from this shell's environment are
 * warnings here — the file may be checked on a laptop — but stop `run`.
 */
export async function checkConfig(file: string, io: CliIo): Promise<number> {
  try {
    const { config, warnings, migrated } = await loadConfigFile(file);
    const secretWarnings: ConfigIssue[] = readSecrets(config).missing;
    const allWarnings = [...warnings, ...secretWarnings];
    printIssues(io, allWarnings, 'warning: ');
    for (const step of migrated) io.err(`note: migrated in memory ${step}; the file on disk is unchanged`);
    const plates = config.gondolas.reduce((n, g) => n + g.shelves.reduce((m, s) => m + s.plates.length, 0), 0);
    const summary = {
      gondolas: config.gondolas.length,
      plates,
      products: config.planogram.products.length,
      cameras: config.cameras.length,
      rfidReaders: config.rfid.readers.length,
      gates: config.gates.length,
      zones: config.zones.length,
      screens: config.screens.length,
    };
    io.err(
      `${file}: valid — store ${config.store.id}: ${summary.gondolas} gondolas, ${plates} plates, ${summary.products} products, ` +
        `${summary.cameras} cameras, ${summary.gates} gates, ${summary.screens} screens`,
    );
    printResult(io, { ok: true, file, storeId: config.store.id, version: config.version, summary, warnings: allWarnings, migrated });
    return EXIT_OK;
  } catch (err) {
    if (!isConfigError(err)) throw err;
    const errors = (err.details['errors'] as ConfigIssue[] | undefined) ?? [];
    const warnings = (err.details['warnings'] as ConfigIssue[] | undefined) ?? [];
    io.err(`error: ${err.message}`);
    printIssues(io, errors);
    printIssues(io, warnings, 'warning: ');
    printResult(io, { ok: false, file, code: err.code, message: err.message, errors, warnings });
    return EXIT_BAD_INPUT;
  }
}
