import { EdgeError, ErrorCode } from '../errors.js';
import type { StoreConfig } from '../../../device-config/schema.js';
import type { ConfigIssue } from '../../../device-config/validate.js';

/**
 * Secrets never live in the configuration file: the file names environment variables and the
 * values are read here, once, at start-up. Kept apart from `StoreConfig` so the config can be
 * logged, shown and synced without leaking anything.
 */
export interface Secrets {
  mqttUsername?: string;
  mqttPassword?: string;
  screenTokens: Map<string, string>;
}

export interface SecretsResult {
  secrets: Secrets;
  missing: ConfigIssue[];
}

export function readSecrets(config: StoreConfig, env: NodeJS.ProcessEnv = process.env): SecretsResult {
  const missing: ConfigIssue[] = [];
  const read = (name: string | undefined, path: string): string | undefined => {
    if (name === undefined) return undefined;
    const value = env[name];
    if (value === undefined || value === '') {
      missing.push({ path, message: `environment variable ${name} is not set` });
      return undefined;
    }
    return value;
  };
  const secrets: Secrets = { screenTokens: new Map() };
  const username = read(config.mqtt.usernameEnv, '/mqtt/usernameEnv');
  const password = read(config.mqtt.passwordEnv, '/mqtt/passwordEnv');
  if (username !== undefined) secrets.mqttUsername = username;
  if (password !== undefined) secrets.mqttPassword = password;
  config.screens.forEach((screen, i) => {
    const token = read(screen.tokenEnv, `/screens/${i}/tokenEnv`);
    if (token !== undefined) secrets.screenTokens.set(screen.id, token);
  });
  return { secrets, missing };
}

/** Start-up refuses to run with a secret missing: better a clear exit than a silent reconnect loop. */
export function requireSecrets(file: string, config: StoreConfig, env: NodeJS.ProcessEnv = process.env): Secrets {
  const { secrets, missing } = readSecrets(config, env);
  if (missing.length > 0) {
    throw new EdgeError(ErrorCode.ConfigInvalid, `${file}: ${missing.length} secret${missing.length === 1 ? '' : 's'} missing from the environment`, {
      details: { file, errors: missing, warnings: [] },
    });
  }
  return secrets;
}
