import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { openRecording, RecordingError } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { scoreWeightEvents } from '../shelf/weight-event-scoring.js';
import type { TruthWeightEvent } from '../sim/ground-truth.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

/**
 * `edge-agent eval shelf --recording DIR`: replays a recording with ground truth through the whole
 * agent and scores the weight events it stored — recall, precision, (product, count) accuracy —
 * computed from the files given, nothing else.
 */
export async function evalShelf(options: { recording: string; dataDir?: string; minGrams: number }, io: CliIo, log: Logger): Promise<number> {
  let recording;
  try {
    recording = openRecording(options.recording);
  } catch (err) {
    if (!(err instanceof RecordingError)) throw err;
    io.err(`error: ${err.message}`);
    return EXIT_BAD_INPUT;
  }
  const truthFile = recording.manifest.truth['weight-events'];
  if (!truthFile || !existsSync(join(recording.dir, truthFile))) {
    io.err(`error: ${options.recording} has no ground truth of weight events (truth/weight-events.jsonl); record it with edge-agent sim`);
    return EXIT_BAD_INPUT;
  }
  const truth = readFileSync(join(recording.dir, truthFile), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as TruthWeightEvent;
      } catch (err) {
        throw new RecordingError(`${join(recording.dir, truthFile)}:${i + 1}: invalid JSON (${describeError(err)})`);
      }
    });
  const summary = await replay({ dir: options.recording, speed: Infinity, log, version: agentVersion(), ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const { missed, spurious, wrongItem, ...score } = scoreWeightEvents(truth, summary.weightEvents, recording.config.planogram.products, options.minGrams);
  for (const m of missed) io.err(`missed: ${m.kind} of ${m.count} × ${m.product} on ${Object.keys(m.plates).join('+')} at ${new Date(m.tStart).toISOString()}`);
  for (const s of spurious) io.err(`spurious: ${s.kind} of ${s.deltaGrams} g on ${s.plates.join('+')} at ${new Date(s.tStart).toISOString()}`);
  for (const w of wrongItem) {
    const top = w.detected.candidates[0];
    io.err(`wrong item: ${w.truth.count} × ${w.truth.product} taken for ${top?.count} × ${top?.product} (${w.detected.deltaGrams} g)`);
  }
  io.err(
    `weight events: recall ${(score.recall * 100).toFixed(2)} %, precision ${(score.precision * 100).toFixed(2)} %, ` +
      `(product, count) ${(score.itemAccuracyDistinguishable * 100).toFixed(2)} % of ${score.itemEventsDistinguishable} distinguishable by weight (${(score.itemAccuracy * 100).toFixed(2)} % of all)`,
  );
  printResult(io, { ok: true, recording: summary.recording, recordedSeconds: summary.recordedSeconds, wallSeconds: summary.wallSeconds, ...score, problems: summary.problems });
  return EXIT_OK;
}
