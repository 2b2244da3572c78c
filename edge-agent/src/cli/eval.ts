import { dirname, join, resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describeError, isEdgeError } from '../errors.js';
import { ProductModel } from '../vision/products/product-model.js';
import { evaluateRecognition, readImageList, type LabelledImage } from '../vision/products/recognition-eval.js';
import type { Logger } from '../log.js';
import { agentVersion, packageRoot } from '../paths.js';
import { openRecording, RecordingError, type OpenedRecording } from '../recording/recording-reader.js';
import { replay } from '../recording/replay-session.js';
import { readTruth } from '../recording/truth-file.js';
import { evaluateReceipts } from '../checkout/receipts-eval.js';
import { scoreWeightEvents } from '../shelf/weight-event-scoring.js';
import BetterSqlite3 from 'better-sqlite3';
import { DATABASE_FILE } from '../db/database.js';
import { TagPassageRepository } from '../db/repositories/rfid.js';
import { scoreGate } from '../rfid/rfid-scoring.js';
import type { TruthGateEvent, TruthTagPassage, TruthTrackPoint, TruthVisit, TruthWeightEvent } from '../sim/ground-truth.js';
import { evaluateAnalytics } from '../analytics/analytics-eval.js';
import { evaluateStock } from '../stock/stock-eval.js';
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
  const truth = readTruth<T>(recording, stream);
  if (!truth) {
    io.err(`error: ${dir} has no ground truth ${stream} (truth/${stream}.jsonl); record it with edge-agent sim`);
    return undefined;
  }
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

export interface EvalAnalyticsOptions {
  recording: string;
  dataDir?: string;
  missRate: number;
  noiseM: number;
  seed: number;
}

/**
 * `edge-agent eval analytics --recording DIR`: the recording's true floor positions, with isolated
 * missed detections and position noise added, through the analytics service; dwell, heatmap mass,
 * pick credit and conversion scored against the truth.
 */
export async function evalAnalytics(options: EvalAnalyticsOptions, io: CliIo, log: Logger): Promise<number> {
  if (!(options.missRate >= 0 && options.missRate < 1) || !(options.noiseM >= 0)) {
    io.err('error: --miss-rate takes a share in [0, 1) and --noise-m a distance ≥ 0');
    return EXIT_BAD_INPUT;
  }
  const tracks = recordingWithTruth<TruthTrackPoint>(options.recording, 'tracks', io);
  const dwell = tracks && recordingWithTruth<TruthVisit>(options.recording, 'dwell', io);
  const gates = dwell && recordingWithTruth<TruthGateEvent>(options.recording, 'gate-events', io);
  const weights = gates && recordingWithTruth<TruthWeightEvent>(options.recording, 'weight-events', io);
  if (!tracks || !dwell || !gates || !weights) return EXIT_BAD_INPUT;
  if (tracks.truth.length === 0) {
    io.err(`error: ${options.recording} has no shoppers on the floor in truth/tracks.jsonl`);
    return EXIT_BAD_INPUT;
  }
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'edge-eval-analytics-'));
  const t0 = performance.now();
  const score = await evaluateAnalytics(
    tracks.recording.config,
    { tracks: tracks.truth, dwell: dwell.truth, gateEvents: gates.truth, weightEvents: weights.truth },
    { missRate: options.missRate, noiseM: options.noiseM, seed: options.seed, dataDir },
    log,
  );
  const d = score.dwell;
  io.err(
    `dwell: ${(d.shareWithinOneSecond * 100).toFixed(2)} % of ${d.scored} visits within ±1 s (median error ${d.medianErrorSeconds} s, p95 ${d.p95ErrorSeconds} s); ` +
      `${d.split} split, ${d.missed} missed, ${d.phantom} phantom, ${d.tooShort} true visits shorter than the enter inertia`,
  );
  io.err(
    `heatmap: ${score.heatmap.measuredSeconds} s of ${score.heatmap.trueSeconds} true occupancy seconds (${(score.heatmap.relativeError * 100).toFixed(2)} %); ` +
      `picks: ${score.picks.creditedToTheRightShopper} of ${score.picks.truth} credited to the right shopper; conversion ${score.conversion.measured} (truth ${score.conversion.truth})`,
  );
  io.err(
    `staff: ${score.staff.leftOut} of ${score.staff.truth} left out, ${score.staff.countedVisits} of their visits counted, ${score.staff.shoppersTakenForStaff} shoppers taken for staff`,
  );
  printResult(io, { ok: true, recording: tracks.recording.dir, dataDir, wallSeconds: Math.round(performance.now() - t0) / 1000, missRate: options.missRate, noiseM: options.noiseM, ...score });
  return EXIT_OK;
}

export interface EvalReceiptsOptions {
  recording: string;
  dataDir?: string;
  noiseM: number;
  missRate: number;
  seed: number;
}

/**
 * `edge-agent eval receipts --recording DIR`: replays a simulated recording through the whole agent
 * (true floor positions, with missed detections and noise, when it has no video) and scores the
 * receipts it wrote against the true ones per paying token: F1 of the billed units, what went to
 * review, receipt latency.
 */
export async function evalReceipts(options: EvalReceiptsOptions, io: CliIo, log: Logger): Promise<number> {
  if (!(options.missRate >= 0 && options.missRate < 1) || !(options.noiseM >= 0)) {
    io.err('error: --miss-rate takes a share in [0, 1) and --noise-m a distance ≥ 0');
    return EXIT_BAD_INPUT;
  }
  let result;
  try {
    result = await evaluateReceipts(options.recording, { noiseM: options.noiseM, missRate: options.missRate, seed: options.seed, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }, log);
  } catch (err) {
    if (!(err instanceof RecordingError)) throw err;
    io.err(`error: ${err.message}`);
    return EXIT_BAD_INPUT;
  }
  for (const t of result.perToken) {
    if (t.f1 === 1) continue;
    const list = (units: Record<string, number>) => Object.entries(units).map(([p, n]) => `${n} × ${p}`).join(', ') || 'nothing';
    io.err(`token ${t.token}: ${t.receipts === 0 ? 'no receipt' : `F1 ${t.f1.toFixed(3)}`}; missing ${list(t.missing)}; extra ${list(t.extra)}`);
  }
  for (const s of result.spurious) io.err(`spurious: receipt ${s.receiptId} for token ${s.token} (${s.billedUnits} units billed) matches no true receipt`);
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)} %`);
  io.err(
    `receipts: ${result.receipts} written for ${result.tokens} paying tokens (${result.tokensWithoutReceipt.length} without, ${result.spurious.length} spurious); ` +
      `macro F1 ${result.macroF1.toFixed(4)}, micro F1 ${result.micro.f1.toFixed(4)} (precision ${result.micro.precision.toFixed(4)}, recall ${result.micro.recall.toFixed(4)}); ` +
      `${pct(result.reviewShare)} of ${result.lines} lines to review (${result.openReviewItems} open items, ${result.rightIfReviewAccepted} of ${result.receiptsWithReview} receipts right if accepted); ` +
      `latency p95 ${result.receiptLatencyMs ? `${result.receiptLatencyMs.p95} ms` : 'n/a'}`,
  );
  printResult(io, { ok: true, missRate: options.missRate, noiseM: options.noiseM, seed: options.seed, ...result });
  return EXIT_OK;
}

export interface EvalRecognitionOptions {
  root: string;
  list: string;
  galleryList?: string;
  model?: string;
  candidates: number;
  seed: number;
}

/**
 * `edge-agent eval recognition --root DIR --list FILE`: a gallery from the gallery list (default:
 * the train split next to the list), every image of the list recognised, top-1/top-5 fine and
 * coarse, top-1 within a small candidate set and the time of one crop; JSON on the last line.
 */
export async function evalRecognition(options: EvalRecognitionOptions, io: CliIo): Promise<number> {
  const galleryList = options.galleryList ?? join(dirname(resolve(options.list)), 'train.txt');
  if (!(Number.isInteger(options.candidates) && options.candidates >= 2)) {
    io.err('error: --candidates takes a whole number of products ≥ 2');
    return EXIT_BAD_INPUT;
  }
  let queries: LabelledImage[];
  let references: LabelledImage[];
  try {
    queries = readImageList(options.list);
    references = readImageList(galleryList);
  } catch (err) {
    io.err(`error: ${describeError(err)}`);
    return EXIT_BAD_INPUT;
  }
  if (queries.length === 0 || references.length === 0) {
    io.err(`error: ${queries.length === 0 ? options.list : galleryList} lists no images`);
    return EXIT_BAD_INPUT;
  }
  const modelPath = options.model ?? join(packageRoot(), 'models', 'product_embedder.onnx');
  let model: ProductModel;
  try {
    model = await ProductModel.load(modelPath);
  } catch (err) {
    io.err(`error: ${describeError(err)}`);
    return EXIT_BAD_INPUT;
  }
  try {
    if (model.kind !== 'embedder') {
      io.err(`error: ${modelPath} is a ${model.kind}; recognition is evaluated with a gallery of an embedder's vectors`);
      return EXIT_BAD_INPUT;
    }
    const t0 = performance.now();
    const score = await evaluateRecognition(model, { root: options.root, queries, references, candidates: options.candidates, seed: options.seed }, (m) => io.err(m));
    const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
    io.err(
      `${score.images} images of ${score.classes} products against a gallery of ${score.galleryImages} images of ${score.galleryProducts}: ` +
        `fine top-1 ${pct(score.fine.top1)}, top-5 ${pct(score.fine.top5)}; coarse top-1 ${pct(score.coarse.top1)}; ` +
        `top-1 among ${score.candidates.size} candidates ${pct(score.candidates.top1)} (${pct(score.candidates.top1SameCoarseSets)} when all from one coarse class); ` +
        `${score.msPerCrop.median} ms per crop`,
    );
    printResult(io, { ok: true, model: model.manifest.name, list: resolve(options.list), galleryList: resolve(galleryList), wallSeconds: Math.round(performance.now() - t0) / 1000, ...score });
    return EXIT_OK;
  } catch (err) {
    if (isEdgeError(err)) {
      io.err(`error: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    throw err;
  } finally {
    await model.release();
  }
}

export interface EvalStockOptions {
  recording: string;
  dataDir?: string;
  noiseM: number;
  missRate: number;
  seed: number;
}

/** `edge-agent eval stock`: the agent's shelf stock and stock alerts against a simulated day's truth. */
export async function evalStock(options: EvalStockOptions, io: CliIo, log: Logger): Promise<number> {
  let result;
  try {
    result = await evaluateStock(options.recording, { noiseM: options.noiseM, missRate: options.missRate, seed: options.seed, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }, log);
  } catch (err) {
    if (!(err instanceof RecordingError)) throw err;
    io.err(`error: ${err.message}`);
    return EXIT_BAD_INPUT;
  }
  for (const f of result.faults) io.err(`${f.kind} at ${f.plate}${f.product ? ` (${f.product})` : ''}, ${f.at}: ${f.alertedAfterSeconds === null ? 'never alerted' : `alerted ${f.alertedAfterSeconds} s after the shelf settled`}; ${f.alerts} alert(s)`);
  io.err(
    `stock within ±1 unit ${(result.withinOneUnit * 100).toFixed(1)} % of ${result.samples} facing samples (exact ${(result.exact * 100).toFixed(1)} %); faults alerted within 10 s ${(result.faultsAlertedWithin10s * 100).toFixed(0)} %; ${result.restocks} restocks, ${result.restockCartLines} cart lines from them`,
  );
  printResult(io, { ok: true, ...result });
  return EXIT_OK;
}
