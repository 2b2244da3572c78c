import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { RecordingError } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { AutoCheckoutImportError } from '../recording/autocheckout-problem.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface ReplayCliOptions {
  speed: string;
  dataDir?: string;
  port?: number;
  format: string;
  catalog?: string;
}

/** `edge-agent replay DIR`: the full agent on a recording; a JSON summary on the last line. */
export async function replayCommand(dir: string, options: ReplayCliOptions, io: CliIo, log: Logger): Promise<number> {
  const speed = options.speed === 'max' ? Infinity : Number(options.speed);
  if (!(speed > 0)) {
    io.err(`error: --speed takes a positive number or "max", not ${options.speed}`);
    return EXIT_BAD_INPUT;
  }
  if (options.format !== 'recording' && options.format !== 'autocheckout') {
    io.err(`error: --format is "recording" or "autocheckout", not ${options.format}`);
    return EXIT_BAD_INPUT;
  }
  if (options.format === 'autocheckout' && !options.catalog) {
    io.err('error: --format autocheckout needs --catalog FILE (the product catalogue CSV)');
    return EXIT_BAD_INPUT;
  }
  try {
    const summary = await replay({
      dir,
      speed,
      log,
      version: agentVersion(),
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.format === 'autocheckout' ? { autocheckoutCatalog: options.catalog! } : {}),
    });
    for (const p of summary.problems) io.err(`warning: ${p}`);
    io.err(
      `replayed ${summary.recordedSeconds} s of ${summary.recording} in ${summary.wallSeconds} s (${summary.speedup}× real time); ` +
        `facts ${summary.facts.sha256.slice(0, 12)} in ${summary.dataDir}`,
    );
    printResult(io, { ok: true, ...summary });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof RecordingError || err instanceof AutoCheckoutImportError) {
      io.err(`error: ${err.message}`);
      printResult(io, { ok: false, error: err.message });
      return EXIT_BAD_INPUT;
    }
    io.err(`error: replay failed: ${describeError(err)}`);
    throw err;
  }
}
