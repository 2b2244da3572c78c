/**
 * `edge-agent replay`: runs the whole agent on a recording in recording time. Serial captures
 * replace the devices they were recorded from, recorded video replaces the cameras, and one
 * scheduler interleaves everything by timestamp, so the same folder gives the same facts.
 */
import { analyticsReport, type AnalyticsReport } from '../analytics/analytics-report.js';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { StoreConfig } from '../../../device-config/schema.js';
import { calibrationFromFile, type CameraCalibration } from '../../../calibration/camera-homography.js';
import { describeError } from '../errors.js';
import type { HealthReport } from '../admin/health-report.js';
import { Agent } from '../agent.js';
import { VirtualClock, type StoreClock } from '../clock.js';
import { DATABASE_FILE } from '../db/database.js';
import { factsDigest, type FactsDigest } from '../db/facts.js';
import { WeightEventRepository } from '../db/repositories/weight-events.js';
import type { WeightEvent } from '../shelf/weight-event.js';
import type { RecordedVideo } from '../devices/device-components.js';
import type { Logger } from '../log.js';
import {
  autoCheckoutShelfSources,
  autoCheckoutStoreConfig,
  readAutoCheckoutCatalog,
  scanAutoCheckoutFolder,
  summarizeAutoCheckoutReplay,
  type AutoCheckoutReplaySummary,
} from './autocheckout-import.js';
import type { ImportProblem } from './autocheckout-problem.js';
import { openRecording, RecordingError } from './recording-reader.js';
import { ReplayScheduler, type ReplaySource } from './replay-scheduler.js';
import { round3 } from '../numbers.js';
import { TruthFloorSource, type TruthFloorOptions } from '../checkout/truth-floor-source.js';
import type { TruthTrackPoint } from '../sim/ground-truth.js';
import { readTruth } from './truth-file.js';

export interface ReplayOptions {
  dir: string;
  /** 1 = as recorded; Infinity = as fast as the agent keeps up. */
  speed: number;
  dataDir?: string;
  port?: number;
  log: Logger;
  version: string;
  /** Replays an AutoCheckout export (CSV per plate) with this catalogue instead of a recording. */
  autocheckoutCatalog?: string;
  /** Called with the agent before it starts, e.g. to listen to its bus. */
  onAgent?: (agent: Agent) => void;
  /**
   * More timed inputs for the started agent, merged with the recording's by time: e.g. the
   * simulator's true floor positions standing in for the vision pipeline of a recording without video.
   */
  sources?: (agent: Agent, clock: StoreClock) => ReplaySource[];
  /**
   * Store time to resume from, into the data directory of an earlier, interrupted replay of the
   * same recording: what came before it is skipped, as a store's devices do not repeat what an
   * agent missed while it was down.
   */
  resumeFrom?: number;
  /** Publish the outbox to this broker during the replay (a replay is normally not the store). */
  syncUrl?: string;
  /**
   * A simulated recording without video: the simulator's true floor positions, with detector-like
   * noise and misses, stand in for the cameras.
   */
  truthFloor?: TruthFloorOptions;
}

export interface ReplaySummary {
  recording: string;
  format: 'edge-agent' | 'autocheckout';
  dataDir: string;
  startedAt: number;
  endedAt: number;
  recordedSeconds: number;
  wallSeconds: number;
  /** Recorded time per wall time. */
  speedup: number;
  delivered: number;
  devices: Record<string, unknown>;
  facts: FactsDigest;
  problems: string[];
  autocheckout?: Omit<AutoCheckoutReplaySummary, 'plates'> & { plates: number };
  /** Every weight event the replay produced, in order. */
  weightEvents: WeightEvent[];
  /** Footfall, top dwell zones and heatmap mass of the replayed time. */
  analytics: AnalyticsReport;
  /** With `truthFloor`: the true positions delivered and those dropped as missed detections. */
  truthFloor?: { observations: number; dropped: number };
}

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  return options.autocheckoutCatalog ? replayAutoCheckout(options, options.autocheckoutCatalog) : replayRecording(options);
}

async function replayRecording(options: ReplayOptions): Promise<ReplaySummary> {
  const recording = openRecording(options.dir);
  const config = structuredClone(recording.config);
  const problems = [...recording.problems];
  const captured = new Map(recording.serial.map((s) => [s.url, s.path]));
  for (const g of config.gondolas) {
    for (const s of g.shelves) {
      const path = captured.get(s.device);
      if (path) s.device = `replay://${path}`;
      else problems.push(`shelf ${g.id}.${s.id}: no capture of ${s.device} in the recording; it stays offline`);
    }
  }
  for (const gate of config.gates) {
    const path = captured.get(gate.device);
    if (path) gate.device = `replay://${path}`;
    else problems.push(`gate ${gate.id}: no capture of ${gate.device} in the recording; it stays offline`);
  }
  for (const reader of config.rfid.readers) {
    const path = captured.get(reader.device);
    if (path) reader.device = `replay://${path}`;
    else problems.push(`RFID reader ${reader.id}: no capture of ${reader.device} in the recording; it is left out`);
  }
  const video = new Map<string, RecordedVideo>(recording.video.map((v) => [v.camera, { video: v.path, framesFile: v.framesPath }]));
  const cameraCalibrations = new Map<string, CameraCalibration>();
  for (const [camera, file] of Object.entries(recording.manifest.calibration.cameras)) {
    const path = join(recording.dir, file);
    try {
      cameraCalibrations.set(camera, calibrationFromFile(path, camera));
    } catch (err) {
      problems.push(`${describeError(err)}; camera ${camera}'s tracks stay in image pixels`);
    }
  }
  const endedAt = recording.manifest.endedAt ?? recording.manifest.startedAt;
  let floorTracks: TruthTrackPoint[] | undefined;
  if (options.truthFloor) {
    floorTracks = readTruth(recording, 'tracks');
    if (!floorTracks) throw new RecordingError(`${options.dir} has no true floor positions (truth/tracks.jsonl) to stand in for the cameras; record it with edge-agent sim`);
  }
  return run(options, config, recording.manifest.startedAt, endedAt, problems, {
    ...(floorTracks ? { floorTracks } : {}),
    video,
    calibrationSeed: recording.scalesCalibration,
    cameraCalibrations,
    format: 'edge-agent',
    // A simulated store's products are recognised by their rendered packaging (when it has cameras to see them).
    simulatedProducts: recording.manifest.scenario !== undefined && recording.video.length > 0,
  });
}

async function replayAutoCheckout(options: ReplayOptions, catalogFile: string): Promise<ReplaySummary> {
  const problems: string[] = [];
  const note = (p: ImportProblem) => problems.push(`${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`);
  const catalog = readAutoCheckoutCatalog(catalogFile);
  catalog.problems.forEach(note);
  const scan = scanAutoCheckoutFolder(options.dir, { ignore: [resolve(catalogFile)] });
  scan.problems.forEach(note);
  if (scan.plates.length === 0) throw new RecordingError(`${options.dir}: no gondola_<G>_shelf_<S>_plate_<P>.csv files`);
  const config = autoCheckoutStoreConfig(options.dir, catalog, { scan, onProblem: note });
  let sinkTarget: Agent | undefined;
  const sources = autoCheckoutShelfSources(scan.plates, (tick) => sinkTarget?.gramsSink(tick), { onProblem: note });
  for (const s of sources) await s.open();
  const firstAt = Math.min(...sources.map((s) => s.peek() ?? Infinity));
  if (!Number.isFinite(firstAt)) throw new RecordingError(`${options.dir}: the plate files hold no readable samples`);
  const summary = await run(options, config, firstAt, firstAt, problems, {
    format: 'autocheckout',
    external: (agent, scheduler) => {
      sinkTarget = agent;
      for (const s of sources) scheduler.add(s);
    },
  });
  for (const s of sources) await s.close();
  const ac = summarizeAutoCheckoutReplay(sources);
  return { ...summary, endedAt: ac.lastAt ?? summary.endedAt, autocheckout: { ...ac, plates: ac.plates.length } };
}

async function run(
  options: ReplayOptions,
  recorded: StoreConfig,
  startedAt: number,
  endedAt: number,
  problems: string[],
  extra: {
    format: ReplaySummary['format'];
    video?: Map<string, RecordedVideo>;
    calibrationSeed?: string | undefined;
    cameraCalibrations?: ReadonlyMap<string, CameraCalibration>;
    simulatedProducts?: boolean;
    external?: (agent: Agent, scheduler: ReplayScheduler) => void;
    floorTracks?: readonly TruthTrackPoint[];
  },
): Promise<ReplaySummary> {
  const dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), 'edge-replay-')));
  if (existsSync(join(dataDir, DATABASE_FILE)) && options.resumeFrom === undefined) {
    throw new RecordingError(`${dataDir}: already holds a database; a replay starts from an empty data directory`);
  }
  const config: StoreConfig = {
    ...recorded,
    dataDir,
    admin: { ...recorded.admin, host: '127.0.0.1', port: options.port ?? 0 },
    ...(options.syncUrl ? { mqtt: { ...recorded.mqtt, url: options.syncUrl, clientId: `replay-${recorded.store.id}` } } : {}),
  };
  const clock = new VirtualClock(Math.max(startedAt, options.resumeFrom ?? startedAt));
  const scheduler = new ReplayScheduler(clock, options.speed);
  const agent = new Agent({
    config,
    secrets: { screenTokens: new Map() },
    log: options.log,
    version: options.version,
    clock,
    replay: { scheduler, video: extra.video ?? new Map() },
    ...(extra.calibrationSeed ? { calibrationSeed: extra.calibrationSeed } : {}),
    ...(extra.cameraCalibrations ? { cameraCalibrations: extra.cameraCalibrations } : {}),
    ...(extra.simulatedProducts ? { simulatedProducts: true } : {}),
    shelfInput: extra.external ? 'external' : 'devices',
    ...(options.syncUrl ? { syncInReplay: true } : {}),
  });
  options.onAgent?.(agent);
  const wallStart = performance.now();
  await agent.start();
  extra.external?.(agent, scheduler);
  const floor = extra.floorTracks && options.truthFloor ? new TruthFloorSource(extra.floorTracks, agent.bus, options.truthFloor) : undefined;
  if (floor) scheduler.add(floor);
  let progress: Awaited<ReturnType<ReplayScheduler['run']>>;
  let health: HealthReport;
  try {
    for (const source of options.sources?.(agent, clock) ?? []) scheduler.add(source);
    progress = await scheduler.run();
  } finally {
    health = agent.health();
    await agent.stop('replay finished');
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const db = new BetterSqlite3(join(dataDir, DATABASE_FILE), { readonly: true });
  let facts: FactsDigest;
  let weightEvents: WeightEvent[];
  let analytics: AnalyticsReport;
  try {
    facts = factsDigest(db);
    weightEvents = new WeightEventRepository(db).all();
    analytics = analyticsReport(db, config, startedAt, Math.max(progress.at, endedAt));
  } finally {
    db.close();
  }
  const reachedAt = Math.max(progress.at, endedAt);
  const devices: Record<string, unknown> = {};
  for (const [name, report] of Object.entries(health.components)) {
    if (['database', 'agent-run', 'retention', 'calibration', 'admin', 'analytics', 'recognition'].includes(name)) continue;
    const { counters, ...rest } = report as Record<string, unknown>;
    devices[name] = counters ?? rest;
  }
  return {
    recording: resolve(options.dir),
    format: extra.format,
    dataDir,
    startedAt,
    endedAt: reachedAt,
    recordedSeconds: round3((reachedAt - startedAt) / 1000),
    wallSeconds: round3(wallSeconds),
    speedup: round3((reachedAt - startedAt) / 1000 / Math.max(wallSeconds, 1e-3)),
    delivered: progress.delivered,
    devices,
    facts,
    problems: [...problems, ...agent.problems.map((p) => `${p.device}: ${p.message}`)],
    weightEvents,
    analytics,
    ...(floor ? { truthFloor: { observations: floor.observations, dropped: floor.dropped } } : {}),
  };
}
