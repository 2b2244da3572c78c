import { readFile } from 'node:fs/promises';
import { EdgeError, ErrorCode } from '../errors.js';
import { validateConfig, type ConfigIssue } from '../../../device-config/validate.js';
import type { StoreConfig } from '../../../device-config/schema.js';
import { applyCloudOverlay, type CloudOverlay } from './cloud-overlay.js';

export interface LoadedConfig {
  file: string;
  config: StoreConfig;
  warnings: ConfigIssue[];
  /** Migration steps applied in memory, e.g. `1 → 2: …`; the file on disk is untouched. */
  migrated: string[];
}

/**
 * Reads and validates a store configuration file. Every failure is an `EdgeError` of the config
 * area whose message is one line fit for an operator; schema errors carry all issues in
 * `details.errors`.
 */
export async function loadConfigFile(file: string, options: { overlay?: CloudOverlay } = {}): Promise<LoadedConfig> {
  const text = await readConfigText(file);
  const parsed = parseJson(file, text);
  const raw = options.overlay ? applyCloudOverlay(parsed, options.overlay) : parsed;
  const result = validateConfig(raw);
  if (!result.ok) {
    throw new EdgeError(
      result.tooNew ? ErrorCode.ConfigTooNew : ErrorCode.ConfigInvalid,
      `${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`,
      { details: { file, errors: result.errors, warnings: result.warnings } },
    );
  }
  return { file, config: result.config, warnings: result.warnings, migrated: result.migrated };
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EdgeError(ErrorCode.ConfigNotFound, `${file}: no such file`, { details: { file } });
    if (code === 'EISDIR') throw new EdgeError(ErrorCode.ConfigUnreadable, `${file}: is a directory, not a configuration file`, { details: { file } });
    throw new EdgeError(ErrorCode.ConfigUnreadable, `${file}: cannot be read (${code ?? 'unknown error'})`, { cause: err, details: { file } });
  }
}

/** JSON.parse with the error placed as file:line:column, which is what an editor can jump to. */
export function parseJson(file: string, text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : body.length;
    const before = body.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const reason = message.replace(/^JSON\.parse: /, '').replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '');
    throw new EdgeError(ErrorCode.ConfigInvalidJson, `${file}:${line}:${column}: invalid JSON: ${reason}`, {
      details: { file, line, column },
    });
  }
}
