import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { openRecording, RecordingError, type OpenedRecording } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { scoreWeightEvents } from '../shelf/weight-event-scoring.js';
import BetterSqlite3 from 'better-sqlite3';
import { DATABASE_FILE } from '../db/database.js';
import { TagPassageRepository } from '../db/repositories/rfid.js';
import { scoreGate } from '../rfid/rfid-scoring.js';
import type { TruthTagPassage, TruthWeightEvent } from '../sim/ground-truth.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

/** Opens a recording and one of its ground-truth streams; a problem is reported and gives undefined. */
function recordingWithTruth<T>(dir: string, stream: string, io: CliIo): { recording: OpenedRecording; truth: T[] } | undefined {
  let recording: OpenedRecording;
  try {
    recording = openRecording(dir);
  } catch (err) {
    if (!(err instanceof RecordingError)) throw err;
    io.err(`error: ${err.message}`);
    return undefined;
  }
  const truthFile = recording.manifest.truth[stream];
  if (!truthFile || !existsSync(join(recording.dir, truthFile))) {
    io.err(`error: ${dir} has no ground truth ${stream} (truth/${stream}.jsonl); record it with edge-agent sim`);
    return undefined;
  }
  const file = join(recording.dir, truthFile);
  const truth = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (err) {
        throw new RecordingError(`${file}:${i + 1}: invalid JSON (${describeError(err)})`);
      }
    });
  return { recording, truth };
}

/**
 * `edge-agent eval shelf --recording DIR`: replays a recording with ground truth through the whole
 * agent and scores the weight events it stored — recall, precision, (product, count) accuracy —
 * computed from the files given, nothing else.
 */
export async function evalShelf(options: { recording: string; dataDir?: string; minGrams: number }, io: CliIo, log: Logger): Promise<number> {
  const opened = recordingWithTruth<TruthWeightEvent>(options.recording, 'weight-events', io);
  if (!opened) return EXIT_BAD_INPUT;
  const { recording, truth } = opened;
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

/**
 * `edge-agent eval rfid --recording DIR`: replays a simulated recording and scores the exit gate —
 * direction of every true crossing, lingering tags never taken out, no serial number billed twice.
 */
export async function evalRfid(options: { recording: string; dataDir?: string }, io: CliIo, log: Logger): Promise<number> {
  const opened = recordingWithTruth<TruthTagPassage>(options.recording, 'rfid-passages', io);
  if (!opened) return EXIT_BAD_INPUT;
  const summary = await replay({ dir: options.recording, speed: Infinity, log, version: agentVersion(), ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const db = new BetterSqlite3(join(summary.dataDir, DATABASE_FILE), { readonly: true });
  let passages;
  try {
    passages = new TagPassageRepository(db).all();
  } finally {
    db.close();
  }
  const score = scoreGate(opened.truth, passages);
  io.err(
    `exit gate: direction ${(score.directionAccuracy * 100).toFixed(2)} % of ${score.crossings} crossings, ` +
      `${score.lingersCalledOut} of ${score.lingers} lingering tags taken out, ${score.doubleBilled} serial numbers billed twice, ` +
      `${score.repeatExitsBilled} of ${score.repeatExits} repeat exits billed`,
  );
  printResult(io, { ok: true, recording: summary.recording, recordedSeconds: summary.recordedSeconds, wallSeconds: summary.wallSeconds, ...score, problems: summary.problems });
  return EXIT_OK;
}
