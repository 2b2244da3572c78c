/**
 * The Calibration page's API: the load-cell wizard on the running agent's live raw readings (tare,
 * span with a known mass, save into the calibration history the shelf pipeline reads at once),
 * camera floor homographies from point pairs, and the planogram by plate.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import {
  CAMERA_CALIBRATION_VERSION,
  calibrationFromFile,
  readCameraCalibration,
  solveFloorHomography,
  writeCameraCalibration,
  type CameraCalibration,
  type CameraMount,
} from '../../../../calibration/camera-homography.js';
import { CalibrationError, computeCalibration, MAX_CALIBRATION_NOISE_GRAMS, PlateSampler, type PlateCalibrationResult, type StillReading } from '../../../../calibration/scale-calibration.js';
import type { CameraConfig } from '../../../../device-config/schema.js';
import { sleep } from '../../backoff.js';
import { PlateCalibrationRepository, type PlateCalibration } from '../../db/repositories/plate-calibrations.js';
import { UserRepository, type User } from '../../db/repositories/users.js';
import { describeError, isEdgeError } from '../../errors.js';
import type { PlateLayout } from '../../sim/store-layout.js';
import type { AdminContext } from '../admin-context.js';

export interface WizardTiming {
  /** Readings right after the request are the hand leaving the plate. */
  settleMs: number;
  /** How long tare and span average the plate. */
  measureMs: number;
  /** The check reading of the known mass after the span. */
  checkMs: number;
  /** An unfinished wizard is forgotten after this long without a step. */
  expireMs: number;
}

export const WIZARD_TIMING: WizardTiming = { settleMs: 500, measureMs: 2_000, checkMs: 600, expireMs: 10 * 60_000 };

const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface SpanResult extends PlateCalibrationResult {
  plate: string;
  gramsPerCount: number;
  /** The plate with the known mass still on, read again with the new calibration and the one in force. */
  check: { grams: number; noiseGrams: number; samples: number; withCalibrationInForce: number | null };
}

interface Wizard {
  plate: string;
  userId: number;
  zero?: StillReading;
  result?: SpanResult;
  measuring: boolean;
  touchedAt: number;
}

function readingView(r: StillReading) {
  return { counts: round(r.counts, 2), spreadCounts: round(r.spread, 2), samples: r.samples };
}

/**
 * Tare and span of one plate per signed-in user, measured on the raw counts the running shelf
 * pipeline sees, computed exactly as `edge-agent calibrate scale` computes them.
 */
export class PlateWizards {
  private readonly wizards = new Map<string, Wizard>();
  private readonly closing = new AbortController();

  constructor(
    private readonly ctx: AdminContext,
    private readonly timing: WizardTiming = WIZARD_TIMING,
  ) {}

  close(): void {
    this.closing.abort();
  }

  plate(key: string): PlateLayout {
    const plate = this.ctx.layout.plates.get(key);
    if (!plate) throw httpError(404, `no plate ${key} in this store (plates are G.S.P, e.g. 1.2.3)`);
    return plate;
  }

  /** The user's unfinished wizards. */
  of(user: User): { plate: string; step: 'measuring' | 'tared' | 'spanned'; zero: ReturnType<typeof readingView> | null; result: SpanResult | null; expiresAt: number }[] {
    this.sweep();
    return [...this.wizards.values()]
      .filter((w) => w.userId === user.id)
      .map((w) => ({
        plate: w.plate,
        step: w.measuring ? 'measuring' : w.result ? 'spanned' : 'tared',
        zero: w.zero ? readingView(w.zero) : null,
        result: w.result ?? null,
        expiresAt: w.touchedAt + this.timing.expireMs,
      }));
  }

  async tare(user: User, key: string) {
    const plate = this.plate(key);
    const wizard = this.begin(user, plate.key, true);
    try {
      const zero = (await this.measure(plate, this.timing.settleMs, this.timing.measureMs)).reading();
      const inForce = this.inForce(plate.key);
      if (inForce) {
        const noise = zero.spread / Math.abs(inForce.countsPerGram);
        if (noise > MAX_CALIBRATION_NOISE_GRAMS) {
          throw new CalibrationError(`the plate was not still (noise ${noise.toFixed(1)} g; at most ${MAX_CALIBRATION_NOISE_GRAMS} g): keep hands off the shelf and tare again`);
        }
      }
      wizard.zero = zero;
      return { plate: plate.key, step: 'tared', zero: readingView(zero) };
    } finally {
      this.end(wizard);
      // A failed tare leaves nothing to continue from.
      if (!wizard.zero) this.wizards.delete(this.key(user, plate.key));
    }
  }

  async span(user: User, key: string, knownGrams: number): Promise<SpanResult> {
    const plate = this.plate(key);
    if (knownGrams > plate.capacityGrams) throw httpError(400, `${knownGrams} g is more than plate ${plate.key} carries (${plate.capacityGrams} g)`);
    this.sweep();
    const existing = this.wizards.get(this.key(user, plate.key));
    if (!existing?.zero && !existing?.measuring) throw httpError(409, `tare plate ${plate.key} first`);
    const wizard = this.begin(user, plate.key, false);
    try {
      const zero = wizard.zero!;
      const loaded = (await this.measure(plate, this.timing.settleMs, this.timing.measureMs)).reading();
      const result = computeCalibration(zero, loaded, knownGrams);
      const check = (await this.measure(plate, 0, this.timing.checkMs)).reading();
      const inForce = this.inForce(plate.key);
      wizard.result = {
        plate: plate.key,
        ...result,
        gramsPerCount: 1 / result.countsPerGram,
        check: {
          grams: round((check.counts - result.zeroCounts) / result.countsPerGram, 2),
          noiseGrams: round(check.spread / Math.abs(result.countsPerGram), 2),
          samples: check.samples,
          withCalibrationInForce: inForce ? round((check.counts - inForce.zeroCounts) / inForce.countsPerGram, 2) : null,
        },
      };
      return wizard.result;
    } finally {
      this.end(wizard);
    }
  }

  /** Stores the spanned calibration; the running pipeline reads grams with it from the next tick. */
  save(user: User, key: string): { calibration: PlateCalibration; result: SpanResult } {
    const plate = this.plate(key);
    this.sweep();
    const wizard = this.wizards.get(this.key(user, plate.key));
    if (wizard?.measuring) throw httpError(409, `plate ${plate.key} is being measured`);
    const result = wizard?.result;
    if (!result) throw httpError(409, `plate ${plate.key} has no tare and span to save: run the wizard first`);
    const db = this.ctx.database();
    if (!db) throw httpError(503, 'the store database is not open');
    const repo = new PlateCalibrationRepository(db.handle);
    const previous = repo.latest().get(plate.key);
    // The newest calibration is the one in force: never older than the one it replaces.
    const calibratedAt = Math.max(this.ctx.clock(), (previous?.calibratedAt ?? 0) + 1);
    const calibration = repo.record({
      plate: plate.key,
      zeroCounts: result.zeroCounts,
      countsPerGram: result.countsPerGram,
      knownMassGrams: result.knownMassGrams,
      operator: user.username,
      calibratedAt,
      source: 'admin-page',
    });
    this.ctx.calibration.reload(db.handle);
    new UserRepository(db.handle).audit(
      user.username,
      'calibration.plate',
      plate.key,
      {
        plate: plate.key,
        operator: user.username,
        result: {
          zeroCounts: result.zeroCounts,
          countsPerGram: result.countsPerGram,
          knownMassGrams: result.knownMassGrams,
          zeroNoiseGrams: result.zeroNoiseGrams,
          loadedNoiseGrams: result.loadedNoiseGrams,
          checkGrams: result.check.grams,
        },
        previous: previous ? { zeroCounts: previous.zeroCounts, countsPerGram: previous.countsPerGram, calibratedAt: previous.calibratedAt, source: previous.source } : null,
      },
      this.ctx.clock(),
    );
    this.wizards.delete(this.key(user, plate.key));
    return { calibration, result };
  }

  cancel(user: User, key: string): void {
    const plate = this.plate(key);
    const wizard = this.wizards.get(this.key(user, plate.key));
    if (wizard?.measuring) throw httpError(409, `plate ${plate.key} is being measured`);
    this.wizards.delete(this.key(user, plate.key));
  }

  private key(user: User, plate: string): string {
    return `${user.id}:${plate}`;
  }

  private begin(user: User, plate: string, fresh: boolean): Wizard {
    this.sweep();
    const key = this.key(user, plate);
    const existing = this.wizards.get(key);
    if (existing?.measuring) throw httpError(409, `plate ${plate} is already being measured`);
    const wizard: Wizard = fresh || !existing ? { plate, userId: user.id, measuring: true, touchedAt: Date.now() } : existing;
    wizard.measuring = true;
    wizard.touchedAt = Date.now();
    this.wizards.set(key, wizard);
    return wizard;
  }

  private end(wizard: Wizard): void {
    wizard.measuring = false;
    wizard.touchedAt = Date.now();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, w] of this.wizards) if (!w.measuring && now - w.touchedAt > this.timing.expireMs) this.wizards.delete(key);
  }

  private inForce(plate: string): PlateCalibration | undefined {
    const db = this.ctx.database();
    return db ? new PlateCalibrationRepository(db.handle).latest().get(plate) : undefined;
  }

  /** The plate's raw counts as they pass through the shelf pipeline for `ms`, after `settleMs`. */
  private async measure(plate: PlateLayout, settleMs: number, ms: number): Promise<PlateSampler> {
    const signal = this.closing.signal;
    if (settleMs > 0 && !(await sleep(settleMs, signal))) throw httpError(503, 'the agent is stopping');
    const sampler = new PlateSampler(plate.index);
    const shelf = `${plate.gondola}.${plate.shelf}`;
    const stop = this.ctx.calibration.watchRaw((tick) => {
      if (tick.shelf === shelf) sampler.sink(tick);
    });
    try {
      if (!(await sleep(ms, signal))) throw httpError(503, 'the agent is stopping');
    } finally {
      stop();
    }
    return sampler;
  }
}

// --- cameras ---------------------------------------------------------------------------------

export interface CameraPairsInput {
  pairs: { u: number; v: number; x: number; y: number }[];
  ransacThresholdM?: number;
  mount?: CameraMount;
}

/** Where the admin page writes a camera's calibration: its configured file, else under the data folder. */
export function cameraCalibrationFile(ctx: AdminContext, camera: CameraConfig): string {
  return resolve(camera.calibration ?? join(ctx.config.dataDir, 'calibration', `${camera.id}.json`));
}

function floorCamera(ctx: AdminContext, id: string): CameraConfig {
  const camera = ctx.config.cameras.find((c) => c.id === id);
  if (!camera) throw httpError(404, `no camera ${id}`);
  if (camera.role === 'shelf') throw httpError(400, `camera ${id} is a shelf camera; only overhead and entrance cameras see the floor`);
  return camera;
}

function currentCalibration(ctx: AdminContext, camera: CameraConfig): { calibration: CameraCalibration | null; problem: string | null } {
  const file = cameraCalibrationFile(ctx, camera);
  if (!existsSync(file)) return { calibration: null, problem: camera.calibration ? `${file}: not found` : null };
  try {
    return { calibration: calibrationFromFile(file, camera.id), problem: null };
  } catch (err) {
    return { calibration: null, problem: describeError(err) };
  }
}

/** Solves the camera's floor homography from the pairs as `edge-agent calibrate camera` does; 400 with the reason when it cannot. */
export function solveCamera(ctx: AdminContext, id: string, input: CameraPairsInput, operator: string): CameraCalibration {
  const camera = floorCamera(ctx, id);
  const { width, height } = camera.detectSize;
  input.pairs.forEach((p, i) => {
    for (const axis of ['u', 'v', 'x', 'y'] as const) {
      if (!Number.isFinite(p[axis])) throw httpError(400, `pair ${i + 1}: ${axis} is not a finite number`);
    }
    if (p.u < 0 || p.v < 0 || p.u > width || p.v > height) throw httpError(400, `pair ${i + 1}: image point ${p.u},${p.v} is outside the ${width}×${height} image`);
  });
  const mount = input.mount ?? currentCalibration(ctx, camera).calibration?.mount;
  try {
    const solved = solveFloorHomography(
      input.pairs.map((p) => ({ image: [p.u, p.v], floor: [p.x, p.y] })),
      input.ransacThresholdM === undefined ? {} : { ransacThresholdM: input.ransacThresholdM },
    );
    return {
      ...solved,
      version: CAMERA_CALIBRATION_VERSION,
      camera: camera.id,
      imageSize: { width, height },
      ...(mount ? { mount } : {}),
      createdAt: new Date(ctx.clock()).toISOString(),
      operator,
    };
  } catch (err) {
    if (isEdgeError(err) && err.area === 'vision') throw httpError(400, err.message);
    throw err;
  }
}

function solutionView(cal: CameraCalibration) {
  return {
    camera: cal.camera,
    imageSize: cal.imageSize,
    pairs: cal.pairs.map((p) => ({ u: p.image[0], v: p.image[1], x: p.floor[0], y: p.floor[1], inlier: p.inlier, errorM: round(p.errorM, 4), errorPx: round(p.errorPx, 2) })),
    inliers: cal.inliers,
    rmsErrorM: round(cal.rmsErrorM, 4),
    maxErrorM: round(cal.maxErrorM, 4),
    rmsErrorPx: round(cal.rmsErrorPx, 2),
    maxErrorPx: round(cal.maxErrorPx, 2),
    ransacThresholdM: cal.ransacThresholdM,
    mount: cal.mount ?? null,
    warning:
      cal.pairs.length === 4
        ? '4 pairs fit exactly whatever their marks: add more to see the errors'
        : cal.pairs.length < 8
          ? `${cal.pairs.length} pairs; 8 or more spread over the floor catch a bad mark`
          : null,
  };
}

// --- routes ----------------------------------------------------------------------------------

const PlateParams = Type.Object({ plate: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false });
const SpanBody = Type.Object({ knownGrams: Type.Number({ exclusiveMinimum: 0, maximum: 100_000, description: 'the reference mass in grams' }) }, { additionalProperties: false });
const CameraParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const Pair = Type.Object({ u: Type.Number(), v: Type.Number(), x: Type.Number(), y: Type.Number() }, { additionalProperties: false });
const CameraBody = Type.Object(
  {
    pairs: Type.Array(Pair, { minItems: 4, maxItems: 200 }),
    ransacThresholdM: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 5 })),
    mount: Type.Optional(
      Type.Object({ heightM: Type.Number({ exclusiveMinimum: 0, maximum: 20 }), x: Type.Optional(Type.Number()), y: Type.Optional(Type.Number()) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Fastify's default validation turns null into 0 and drops unknown keys; a blank cell must not
 * become a floor point at 0 m, nor a mistyped key pass unseen. Set in this plugin's context only.
 */
function strictValidation(app: FastifyInstance): void {
  const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
}

export async function calibrationApi(app: FastifyInstance, ctx: AdminContext, timing: WizardTiming = WIZARD_TIMING): Promise<void> {
  strictValidation(app);
  const wizards = new PlateWizards(ctx, timing);
  app.addHook('preClose', async () => wizards.close());
  const calibrationFailed = (err: unknown) => (err instanceof CalibrationError ? httpError(409, err.message) : err);

  app.get('/api/calibration/plates', { config: { role: 'viewer' } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const db = ctx.database();
    const inForce = db ? new PlateCalibrationRepository(db.handle).latest() : new Map<string, PlateCalibration>();
    const readings = new Map(ctx.shelfReadings.snapshot().map((r) => [r.plate, r]));
    const productsOn = new Map<string, string[]>();
    for (const p of ctx.config.planogram.products) for (const plate of p.plates) productsOn.set(plate, [...(productsOn.get(plate) ?? []), p.name]);
    return {
      timing: { settleMs: timing.settleMs, measureMs: timing.measureMs, checkMs: timing.checkMs },
      maxNoiseGrams: MAX_CALIBRATION_NOISE_GRAMS,
      plates: [...ctx.layout.plates.values()].map((p) => {
        const c = inForce.get(p.key);
        const reading = readings.get(p.key);
        return {
          plate: p.key,
          shelf: `${p.gondola}.${p.shelf}`,
          protocol: ctx.layout.shelves.get(`${p.gondola}.${p.shelf}`)?.protocol ?? null,
          capacityGrams: p.capacityGrams,
          grams: reading?.grams ?? null,
          readingAt: reading?.at ?? null,
          products: productsOn.get(p.key) ?? [],
          calibration: c
            ? { zeroCounts: c.zeroCounts, countsPerGram: c.countsPerGram, knownMassGrams: c.knownMassGrams, operator: c.operator, calibratedAt: c.calibratedAt, source: c.source }
            : null,
        };
      }),
      wizards: wizards.of(request.user!),
    };
  });

  app.post('/api/calibration/plates/:plate/tare', { config: { role: 'staff' }, schema: { params: PlateParams } }, async (request) => {
    const { plate } = request.params as Type.Static<typeof PlateParams>;
    return wizards.tare(request.user!, plate).catch((err: unknown) => Promise.reject(calibrationFailed(err)));
  });

  app.post('/api/calibration/plates/:plate/span', { config: { role: 'staff' }, schema: { params: PlateParams, body: SpanBody } }, async (request) => {
    const { plate } = request.params as Type.Static<typeof PlateParams>;
    const { knownGrams } = request.body as Type.Static<typeof SpanBody>;
    return wizards.span(request.user!, plate, knownGrams).catch((err: unknown) => Promise.reject(calibrationFailed(err)));
  });

  app.post('/api/calibration/plates/:plate/save', { config: { role: 'staff' }, schema: { params: PlateParams } }, async (request) => {
    const { plate } = request.params as Type.Static<typeof PlateParams>;
    const { calibration, result } = wizards.save(request.user!, plate);
    return { ok: true, plate: calibration.plate, calibration, result, grams: ctx.shelfReadings.gramsOn(calibration.plate) };
  });

  app.post('/api/calibration/plates/:plate/cancel', { config: { role: 'staff' }, schema: { params: PlateParams } }, async (request) => {
    const { plate } = request.params as Type.Static<typeof PlateParams>;
    wizards.cancel(request.user!, plate);
    return { ok: true };
  });

  app.get('/api/calibration/cameras', { config: { role: 'admin' } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const vision = ctx.vision.health();
    return {
      cameras: ctx.config.cameras
        .filter((c) => c.role !== 'shelf')
        .map((camera) => {
          const { calibration, problem } = currentCalibration(ctx, camera);
          const v = vision.cameras[camera.id];
          return {
            id: camera.id,
            name: camera.name ?? camera.id,
            role: camera.role,
            detectSize: camera.detectSize,
            file: cameraCalibrationFile(ctx, camera),
            configured: camera.calibration !== undefined,
            inUse: v?.calibrated ?? false,
            visionProblem: v?.problem ?? null,
            fileProblem: problem,
            current: calibration ? { ...solutionView(calibration), createdAt: calibration.createdAt, operator: calibration.operator } : null,
          };
        }),
    };
  });

  app.post('/api/calibration/cameras/:id/solve', { config: { role: 'admin' }, schema: { params: CameraParams, body: CameraBody } }, async (request) => {
    const { id } = request.params as Type.Static<typeof CameraParams>;
    return solutionView(solveCamera(ctx, id, request.body as CameraPairsInput, request.user!.username));
  });

  app.post('/api/calibration/cameras/:id/save', { config: { role: 'admin' }, schema: { params: CameraParams, body: CameraBody } }, async (request) => {
    const { id } = request.params as Type.Static<typeof CameraParams>;
    const user = request.user!;
    const calibration = solveCamera(ctx, id, request.body as CameraPairsInput, user.username);
    const camera = floorCamera(ctx, id);
    const file = cameraCalibrationFile(ctx, camera);
    writeCameraCalibration(file, calibration);
    // Read back through the file format's own validation, as the agent will read it.
    readCameraCalibration(file);
    const db = ctx.database();
    if (!db) throw httpError(503, 'the store database is not open');
    new UserRepository(db.handle).audit(
      user.username,
      'calibration.camera',
      camera.id,
      { camera: camera.id, file, pairs: calibration.pairs.length, inliers: calibration.inliers, rmsErrorM: calibration.rmsErrorM, maxErrorM: calibration.maxErrorM },
      ctx.clock(),
    );
    const configured = camera.calibration !== undefined;
    return {
      ok: true,
      file,
      configured,
      note: configured
        ? 'written to the configured file; vision reads it when the agent next starts'
        : `written to ${file}; set cameras[].calibration of ${camera.id} to this file (Settings) and restart the agent to use it`,
      ...solutionView(calibration),
    };
  });

  app.get('/api/calibration/planogram', { config: { role: 'viewer' } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const readings = new Map(ctx.shelfReadings.snapshot().map((r) => [r.plate, r]));
    const byPlate = new Map<string, { id: string; name: string; unitWeight: number; price: number }[]>();
    for (const p of ctx.config.planogram.products) {
      for (const plate of p.plates) byPlate.set(plate, [...(byPlate.get(plate) ?? []), { id: p.id, name: p.name, unitWeight: p.unitWeight, price: p.price }]);
    }
    return {
      currency: ctx.config.store.currency,
      gondolas: ctx.layout.gondolas.map((g) => ({
        id: g.id,
        shelves: g.shelves.map((s) => ({
          shelf: s.key,
          protocol: s.protocol,
          plates: s.plates.map((p) => ({
            plate: p.key,
            capacityGrams: p.capacityGrams,
            grams: readings.get(p.key)?.grams ?? null,
            products: byPlate.get(p.key) ?? [],
          })),
        })),
      })),
    };
  });
}
