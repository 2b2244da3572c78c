/**
 * Reads one ground-truth stream of a recording (JSON lines the simulator wrote beside it), for
 * every evaluation that scores the agent against it. A line that is not JSON is an error naming
 * the file and line: a truth file is written by a program, so a broken one is not worked around.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import type { TruthStream, TruthStreams } from '../sim/ground-truth.js';
import { RecordingError, type OpenedRecording } from './recording-reader.js';

/** The stream's records in file order, or undefined when the recording has no such stream. */
export function readTruth<K extends TruthStream>(recording: OpenedRecording, stream: K): TruthStreams[K][] | undefined;
export function readTruth<T>(recording: OpenedRecording, stream: string): T[] | undefined;
export function readTruth(recording: OpenedRecording, stream: string): unknown[] | undefined {
  const relative = recording.manifest.truth[stream];
  if (!relative) return undefined;
  const file = join(recording.dir, relative);
  if (!existsSync(file)) return undefined;
  const records: unknown[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        records.push(JSON.parse(line));
      } catch (err) {
        throw new RecordingError(`${file}:${i + 1}: invalid JSON (${describeError(err)})`);
      }
    });
  return records;
}
