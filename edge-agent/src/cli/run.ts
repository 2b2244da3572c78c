import { Agent, type AgentOptions } from '../agent.js';
import { CRASH_PREFIX } from '../agent-run-recorder.js';
import { loadConfigFile, type LoadedConfig } from '../config/load-config.js';
import { requireSecrets, type Secrets } from '../config/secrets.js';
import { describeError, isConfigError } from '../errors.js';
import { createRootLogger, LOG_LEVELS, type Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { stopOnSignals } from '../shutdown.js';
import type { StoreConfig } from '../../../device-config/schema.js';
import type { ConfigIssue } from '../../../device-config/validate.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, printIssues, type CliIo } from './output.js';

export interface RunOverrides {
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: string;
}

/** Command-line flags win over the file, so two agents can share one config side by side. */
export function applyOverrides(config: StoreConfig, overrides: RunOverrides): StoreConfig {
  return {
    ...config,
    dataDir: overrides.dataDir ?? config.dataDir,
    admin: { ...config.admin, host: overrides.host ?? config.admin.host, port: overrides.port ?? config.admin.port },
    log: { ...config.log, level: (overrides.logLevel as StoreConfig['log']['level'] | undefined) ?? config.log.level },
  };
}

/**
 * `edge-agent run` / `demo`: load and check the configuration (exit 2 and start nothing when
 * it is bad), start the agent, and run until SIGTERM/SIGINT.
 */
export async function runAgent(configFile: string, overrides: RunOverrides, io: CliIo, extra: Pick<AgentOptions, 'transports' | 'calibrationSeed' | 'simulatedProducts'> = {}): Promise<number> {
  let loaded: LoadedConfig;
  let secrets: Secrets;
  try {
    loaded = await loadConfigFile(configFile);
    secrets = requireSecrets(configFile, loaded.config);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    io.err(`error: ${err.message}`);
    printIssues(io, (err.details['errors'] as ConfigIssue[] | undefined) ?? []);
    return EXIT_BAD_INPUT;
  }
  const envLevel = process.env['LOG_LEVEL'];
  if (envLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(envLevel)) {
    io.err(`error: LOG_LEVEL=${envLevel} is not one of ${LOG_LEVELS.join(', ')}`);
    return EXIT_BAD_INPUT;
  }
  const config = applyOverrides(loaded.config, { ...overrides, logLevel: overrides.logLevel ?? envLevel });
  const log = createRootLogger({ level: config.log.level });
  for (const w of loaded.warnings) log.warn({ path: w.path, file: configFile }, `config: ${w.message}`);

  const agent = new Agent({ config, secrets, log, version: agentVersion(), ...extra });
  const stopped = new Promise<number>((resolve) => {
    stopOnSignals((reason) => agent.stop(reason).then((failed) => resolve(failed.length === 0 ? EXIT_OK : EXIT_FAILURE)), log);
  });
  exitOnCrash(agent, log);

  try {
    await agent.start();
  } catch (err) {
    log.fatal({ err }, 'agent failed to start');
    io.err(`error: agent failed to start: ${describeError(err)}`);
    return EXIT_FAILURE;
  }
  io.out(`edge-agent ${agentVersion()}: store ${config.store.id} running; data in ${config.dataDir}; admin page at ${agent.adminUrl}/`);
  return stopped;
}

/** An unexpected exception still stops the agent in order (recording the crash) before exiting 1. */
function exitOnCrash(agent: Agent, log: Logger): void {
  let crashed = false;
  const onCrash = (err: unknown, kind: string): void => {
    log.fatal({ err, kind }, 'unexpected error: stopping the agent');
    if (crashed) return;
    crashed = true;
    void agent.stop(`${CRASH_PREFIX}: ${describeError(err)}`).finally(() => process.exit(EXIT_FAILURE));
  };
  process.on('uncaughtException', (err) => onCrash(err, 'uncaughtException'));
  process.on('unhandledRejection', (err) => onCrash(err, 'unhandledRejection'));
}
