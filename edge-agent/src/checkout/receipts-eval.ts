/**
 * Scores grab-and-go receipts on a simulated recording: the whole agent replays it (scales, gates
 * and RFID readers through their real adapters), with the true floor positions — degraded the way a
 * detector degrades them — standing in for the cameras when the recording has no video; the
 * receipts it wrote are then read back from its database and compared with the true receipts.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DATABASE_FILE } from '../db/database.js';
import { ReceiptRepository } from '../db/repositories/receipts.js';
import type { Logger } from '../log.js';
import { agentVersion } from '../paths.js';
import { openRecording, RecordingError } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { readTruth } from '../recording/truth-file.js';
import { scoreReceipts, type ProducedReceipt, type ReceiptScore } from './receipt-scoring.js';
import type { TruthFloorOptions } from './truth-floor-source.js';

export interface ReceiptsEvalOptions {
  /** Empty directory for the replay's database (default: a new temporary one). */
  dataDir?: string;
  /** Position noise of the true floor positions (standard deviation, metres). */
  noiseM: number;
  /** Share of true floor positions dropped, each on its own. */
  missRate: number;
  seed: number;
  /** A shopper's track ends this long after their last true position (default 3000 ms). */
  endAfterMs?: number;
}

export interface ReceiptsEvaluation extends ReceiptScore {
  recording: string;
  dataDir: string;
  /** Where the floor positions came from: the truth (no video), or the recorded video. */
  floor: 'truth' | 'video';
  /** Floor positions the truth held and those dropped as missed detections (0 with video). */
  observations: number;
  dropped: number;
  recordedSeconds: number;
  wallSeconds: number;
  problems: string[];
}

/** Throws a RecordingError when the recording cannot be used (no folder, no true receipts, …). */
export async function evaluateReceipts(dir: string, options: ReceiptsEvalOptions, log: Logger): Promise<ReceiptsEvaluation> {
  const recording = openRecording(dir);
  const truth = readTruth(recording, 'receipts');
  if (!truth) throw new RecordingError(`${dir} has no ground truth receipts (truth/receipts.jsonl); record it with edge-agent sim`);
  const withVideo = recording.video.length > 0;
  const latencies: number[] = [];
  const summary = await replay({
    dir,
    speed: Infinity,
    log,
    version: agentVersion(),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    onAgent: (agent) => {
      agent.bus.on('checkout.receipt', 'receipts-eval', (r) => void latencies.push(r.latencyMs));
    },
    ...(withVideo ? {} : { truthFloor: floorOptions(options) }),
  });
  const db = new BetterSqlite3(join(summary.dataDir, DATABASE_FILE), { readonly: true });
  let produced: ProducedReceipt[];
  let openReviewItems: number;
  try {
    const receipts = new ReceiptRepository(db);
    produced = receipts.between(0, Number.MAX_SAFE_INTEGER);
    openReviewItems = receipts.reviewQueue({ open: true }).length;
  } finally {
    db.close();
  }
  const problems = [...summary.problems];
  const floorPoints = (summary.truthFloor?.observations ?? 0) + (summary.truthFloor?.dropped ?? 0);
  if (!withVideo && floorPoints === 0) problems.push(`${dir}: truth/tracks.jsonl holds no floor positions; no shopper is seen on the floor`);
  return {
    recording: summary.recording,
    dataDir: summary.dataDir,
    floor: withVideo ? 'video' : 'truth',
    observations: summary.truthFloor?.observations ?? 0,
    dropped: summary.truthFloor?.dropped ?? 0,
    recordedSeconds: summary.recordedSeconds,
    wallSeconds: summary.wallSeconds,
    ...scoreReceipts({ truth, produced, openReviewItems, latencies }),
    problems,
  };
}

function floorOptions(options: ReceiptsEvalOptions): TruthFloorOptions {
  const { noiseM, missRate, seed, endAfterMs } = options;
  return { noiseM, missRate, seed, ...(endAfterMs !== undefined ? { endAfterMs } : {}) };
}
