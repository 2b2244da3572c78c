import { Agent, type AgentOptions } from '../agent.js';
import { CRASH_PREFIX } from '../agent-run-recorder.js';
import { loadConfigFile, type LoadedConfig } from '../config/load-config.js';
import { overlayPath, readCloudOverlay, writeCloudOverlay, type CloudOverlay } from '../config/cloud-overlay.js';
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
 * The configuration file with the cloud's planogram and prices on top. At start a cloud overlay
 * that no longer fits the file (a plate removed since) is left out with an error in the log: the
 * store runs on the file rather than not at all. A new overlay (a command) must fit, or nothing
 * changes.
 */
type Report = (detail: object, message: string) => void;

async function loadStoreConfig(file: string, dataDirOverride: string | undefined, report: Report | undefined, overlay?: CloudOverlay): Promise<LoadedConfig> {
  const plain = await loadConfigFile(file);
  const dataDir = dataDirOverride ?? plain.config.dataDir;
  const cloud = overlay ?? readCloudOverlayOrReport(dataDir, report);
  if (!cloud) return plain;
  try {
    return await loadConfigFile(file, { overlay: cloud });
  } catch (err) {
    if (!isConfigError(err) || overlay) throw err;
    const issues = (err.details['errors'] as ConfigIssue[] | undefined) ?? [];
    report?.({ file: overlayPath(dataDir), issues: issues.slice(0, 10) }, "the cloud's planogram and prices do not fit the configuration file: running on the file alone");
    return plain;
  }
}

function readCloudOverlayOrReport(dataDir: string, report: Report | undefined): CloudOverlay | undefined {
  try {
    return readCloudOverlay(dataDir);
  } catch (err) {
    report?.({ err: describeError(err) }, "the cloud's planogram and prices cannot be read: running on the configuration file alone");
    return undefined;
  }
}

/** Top-level sections whose content differs. */
function changedSections(a: StoreConfig, b: StoreConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify((a as Record<string, unknown>)[k]) !== JSON.stringify((b as Record<string, unknown>)[k])).sort();
}

/**
 * One agent at a time, replaced by a new one when the cloud reloads the configuration: the
 * command is answered first, then the running agent stops in order and one built from the new
 * configuration starts. A new configuration that fails to start gives way to the previous one.
 */
class AgentRunner {
  private agent: Agent;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly configFile: string,
    private readonly overrides: RunOverrides,
    private config: StoreConfig,
    private secrets: Secrets,
    private readonly log: Logger,
    private readonly extra: Pick<AgentOptions, 'transports' | 'calibrationSeed' | 'simulatedProducts'>,
  ) {
    this.agent = this.build(config, secrets);
  }

  get current(): Agent {
    return this.agent;
  }

  private build(config: StoreConfig, secrets: Secrets): Agent {
    return new Agent({ config, secrets, log: this.log, version: agentVersion(), ...this.extra, reloadConfig: (overlay) => this.reload(overlay) });
  }

  async start(): Promise<void> {
    await this.agent.start();
  }

  async stop(reason: string): Promise<string[]> {
    await this.restarting;
    return this.agent.stop(reason);
  }

  private async reload(overlay?: CloudOverlay): Promise<{ changed: string[] }> {
    if (this.restarting) throw new Error('a reload is already under way');
    let next: StoreConfig;
    let secrets: Secrets;
    try {
      const loaded = await loadStoreConfig(this.configFile, this.overrides.dataDir, undefined, overlay);
      next = applyOverrides(loaded.config, { ...this.overrides, logLevel: this.overrides.logLevel ?? this.config.log.level });
      secrets = requireSecrets(this.configFile, next);
    } catch (err) {
      if (!isConfigError(err)) throw err;
      const issues = (err.details['errors'] as ConfigIssue[] | undefined) ?? [];
      throw new Error(`${err.message}${overlay ? " (with the cloud's changes)" : ''}${issues.length > 0 ? `: ${issues.slice(0, 5).map((i) => `${i.path || '/'} ${i.message}`).join('; ')}` : ''}`);
    }
    if (overlay) writeCloudOverlay(next.dataDir, overlay);
    const changed = changedSections(this.config, next);
    this.log.info({ changed }, 'configuration reloaded: restarting the agent');
    const restart = (async () => {
      // Let the command's answer leave before the connection closes.
      await new Promise((r) => setTimeout(r, 250));
      const previous = { config: this.config, secrets: this.secrets };
      await this.agent.stop('reload-config');
      try {
        this.agent = this.build(next, secrets);
        await this.agent.start();
        this.config = next;
        this.secrets = secrets;
      } catch (err) {
        this.log.error({ err }, 'the reloaded configuration failed to start: starting the previous one again');
        this.agent = this.build(previous.config, previous.secrets);
        await this.agent.start();
      }
    })();
    this.restarting = restart.finally(() => {
      this.restarting = undefined;
    });
    return { changed };
  }
}

/**
 * `edge-agent run` / `demo`: load and check the configuration (exit 2 and start nothing when
 * it is bad), start the agent, and run until SIGTERM/SIGINT.
 */
export async function runAgent(configFile: string, overrides: RunOverrides, io: CliIo, extra: Pick<AgentOptions, 'transports' | 'calibrationSeed' | 'simulatedProducts'> = {}): Promise<number> {
  const envLevel = process.env['LOG_LEVEL'];
  if (envLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(envLevel)) {
    io.err(`error: LOG_LEVEL=${envLevel} is not one of ${LOG_LEVELS.join(', ')}`);
    return EXIT_BAD_INPUT;
  }
  let loaded: LoadedConfig;
  let secrets: Secrets;
  // Problems of the cloud's part are logged once the logger exists.
  const early: { obj: object; msg: string }[] = [];
  try {
    loaded = await loadStoreConfig(configFile, overrides.dataDir, (obj, msg) => early.push({ obj, msg }));
    secrets = requireSecrets(configFile, loaded.config);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    io.err(`error: ${err.message}`);
    printIssues(io, (err.details['errors'] as ConfigIssue[] | undefined) ?? []);
    return EXIT_BAD_INPUT;
  }
  const config = applyOverrides(loaded.config, { ...overrides, logLevel: overrides.logLevel ?? envLevel });
  const log = createRootLogger({ level: config.log.level });
  for (const w of loaded.warnings) log.warn({ path: w.path, file: configFile }, `config: ${w.message}`);
  for (const e of early) log.error(e.obj, e.msg);

  const runner = new AgentRunner(configFile, { ...overrides, logLevel: overrides.logLevel ?? envLevel }, config, secrets, log, extra);
  const stopped = new Promise<number>((resolve) => {
    stopOnSignals((reason) => runner.stop(reason).then((failed) => resolve(failed.length === 0 ? EXIT_OK : EXIT_FAILURE)), log);
  });
  exitOnCrash(runner, log);

  try {
    await runner.start();
  } catch (err) {
    log.fatal({ err }, 'agent failed to start');
    io.err(`error: agent failed to start: ${describeError(err)}`);
    return EXIT_FAILURE;
  }
  io.out(`edge-agent ${agentVersion()}: store ${config.store.id} running; data in ${config.dataDir}; admin page at ${runner.current.adminUrl}/`);
  return stopped;
}

/** An unexpected exception still stops the agent in order (recording the crash) before exiting 1. */
function exitOnCrash(agent: Pick<AgentRunner, 'stop'>, log: Logger): void {
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
