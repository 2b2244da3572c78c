/**
 * The inference worker thread with real onnxruntime models on real PETS frames: the same boxes as
 * in-process, an event loop left free while it infers, recovery from a dead worker, errors that
 * name the model file, and a close that leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, isEdgeError } from '../../edge-agent/src/errors.js';
import { Detector } from '../../edge-agent/src/vision/detect/person-detector.js';
import type { FramePixels } from '../../edge-agent/src/vision/detect/input-packer.js';
import type { Detection } from '../../edge-agent/src/vision/detection.js';
import { readImageFile } from '../../edge-agent/src/vision/image-file.js';
import { InferenceWorker } from '../../edge-agent/src/vision/inference/inference-worker.js';
import { openModelSession } from '../../edge-agent/src/vision/inference/model-session.js';
import { missingShared, sharedPath } from '../support/shared.js';
import { useTempDirs } from '../support/temp-dir.js';

const SEQUENCE = 'data/mot/PETS-S3-MF1';
const YOLOX = 'models/yolox_nano_416.onnx';
const SMALL = 'models/person_detector_192.onnx';
const DIST = join(import.meta.dirname, '..', '..', 'dist', 'edge-agent', 'src', 'vision');

const skip = missingShared(YOLOX, SMALL, `${SEQUENCE}/img/frame_0001.jpg`);

function framePath(n: number): string {
  return sharedPath(SEQUENCE, 'img', `frame_${String(n).padStart(4, '0')}.jpg`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Same boxes in the same order, corners within `px`, scores within 1e-4. */
function expectSameBoxes(got: readonly Detection[], want: readonly Detection[], px = 1e-3): void {
  expect(got).toHaveLength(want.length);
  got.forEach((d, i) => {
    const w = want[i]!;
    expect(d.classId).toBe(w.classId);
    expect(Math.abs(d.score - w.score)).toBeLessThan(1e-4);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(d[k] - w[k])).toBeLessThan(px);
  });
}

/** Ticks of a 1 ms interval while `work` runs, against the milliseconds it took. */
async function ticksDuring(work: () => Promise<void>): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { ticks, ms: performance.now() - started };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(skip)(`inference worker with real models ${skip ?? ''}`, () => {
  const tempDir = useTempDirs();
  const frames = new Map<number, FramePixels>();
  const sample = [1, 21, 41, 61, 81, 101];
  let local: Detector;
  let worker: InferenceWorker;
  let remote: Detector;

  beforeAll(async () => {
    for (const n of sample) frames.set(n, readImageFile(framePath(n)));
    local = await Detector.load(sharedPath(YOLOX));
    worker = new InferenceWorker();
    remote = await Detector.load(sharedPath(YOLOX), { worker });
  });

  afterAll(async () => {
    await local?.release();
    await remote?.release();
    await worker?.close();
  });

  it('finds the same boxes in the worker as in-process, and runOnly() reports the time of session.run in the worker', async () => {
    let boxes = 0;
    for (const n of sample) {
      const frame = frames.get(n)!;
      const want = await local.detect(frame);
      const got = await remote.detect(frame);
      expectSameBoxes(got, want);
      boxes += got.length;
    }
    // PETS frames hold 3 to 8 people each: an empty result on both sides would prove nothing.
    expect(boxes).toBeGreaterThan(sample.length * 3);

    const runMs: number[] = [];
    const roundTripMs: number[] = [];
    const localRunMs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = performance.now();
      runMs.push(await remote.runOnly());
      roundTripMs.push(performance.now() - t);
      localRunMs.push(await local.runOnly());
    }
    console.log(
      `yolox_nano_416 session.run: worker median ${median(runMs).toFixed(2)} ms (round trip ${median(roundTripMs).toFixed(2)} ms), in-process ${median(localRunMs).toFixed(2)} ms`,
    );
    // The figure is measured inside the worker: never longer than the round trip that contains
    // it, and most of it (the messages carry one transferred 2 MB tensor each way: well under a
    // millisecond, against tens of milliseconds of inference).
    runMs.forEach((ms, i) => {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(roundTripMs[i]!);
    });
    expect(median(runMs)).toBeGreaterThan(0.7 * median(roundTripMs));
    expect(worker.restarts).toBe(0);
  });

  it('leaves the event loop free while the worker infers; in-process inference blocks it', async () => {
    const runs = 20;
    const frameAt = (i: number) => frames.get(sample[i % sample.length]!)!;
    const inProcess = await ticksDuring(async () => {
      for (let i = 0; i < runs; i++) await local.detect(frameAt(i));
    });
    const inWorker = await ticksDuring(async () => {
      for (let i = 0; i < runs; i++) await remote.detect(frameAt(i));
    });
    const share = (r: { ticks: number; ms: number }) => r.ticks / r.ms;
    console.log(
      `${runs} detections, 1 ms interval ticks: in-process ${inProcess.ticks} in ${inProcess.ms.toFixed(0)} ms (${(inProcess.ticks / runs).toFixed(1)} per run, ${(100 * share(inProcess)).toFixed(1)} % of possible), ` +
        `worker ${inWorker.ticks} in ${inWorker.ms.toFixed(0)} ms (${(100 * share(inWorker)).toFixed(1)} % of possible)`,
    );
    // In-process, session.run holds the thread: a timer fires only between two detections
    // (measured: 1.0 tick per run, 10 % of the possible ticks). In the worker only packing and
    // decoding hold it, ~1.5 ms of a ~11 ms detection (measured: 75–87 % of the possible ticks).
    // The bounds leave room for a loaded CI box and still cannot all hold unless the inference
    // really ran on another thread.
    expect(inProcess.ticks).toBeLessThanOrEqual(3 * runs);
    expect(share(inWorker)).toBeGreaterThan(0.6);
    expect(inWorker.ticks).toBeGreaterThan(3 * inProcess.ticks);
  });

  it('fails the call in flight when the worker dies, then detects on a new worker with a fresh input buffer', async () => {
    const frame = frames.get(41)!;
    const want = await local.detect(frame);
    const restartsBefore = worker.restarts;
    // The thread is stopped while idle and a run is posted to it before it is gone: that run is
    // in flight on a dead worker. (Stopping a thread inside onnxruntime's session.run would abort
    // the whole process, so a crash is not staged there; see InferenceWorker.close().)
    const dying = worker.terminateThread();
    const inFlight = caught(remote.detect(frame));
    await dying;
    const err = await inFlight;
    expect(err.message).toMatch(/^inference worker stopped: exit code \d+$/);
    expect(worker.lastError).toMatch(/^exit code \d+$/);
    expect(worker.inFlight).toBe(0);

    // The lost run took the detector's input buffer with it (transferred to a thread that is
    // gone): posting that buffer again would throw a DataCloneError, so boxes equal to the
    // in-process ones prove the next pack() made a new one, on a new worker that reloaded the session.
    expectSameBoxes(await remote.detect(frame), want);
    expect(worker.restarts).toBe(restartsBefore + 1);
    for (const n of [61, 81]) expectSameBoxes(await remote.detect(frames.get(n)!), await local.detect(frames.get(n)!));
    expect(worker.restarts).toBe(restartsBefore + 1);
  });

  it('names a missing or broken model file and keeps serving the sessions it has', async () => {
    const dir = tempDir();
    const restartsBefore = worker.restarts;

    const missing = join(dir, 'yolox_nano_416.onnx');
    const notFound = await caught(Detector.load(missing, { worker }));
    expect(isEdgeError(notFound, ErrorCode.VisionModelNotFound)).toBe(true);
    expect(notFound.message).toContain(missing);
    // Past the detector's own check, onnxruntime in the worker is the one that cannot open it.
    const unopened = await caught(openModelSession(missing, { worker }));
    expect(isEdgeError(unopened, ErrorCode.VisionModelMismatch)).toBe(true);
    expect(unopened.message).toContain(missing);

    // Garbage, and the first 4 KiB of the real model (a copy cut short): the manifest is found
    // by the name in models/, so it is onnxruntime in the worker that refuses the bytes.
    const garbage = join(dir, 'garbage', 'yolox_nano_416.onnx');
    const truncated = join(dir, 'truncated', 'yolox_nano_416.onnx');
    for (const file of [garbage, truncated]) mkdirSync(join(file, '..'));
    writeFileSync(garbage, 'this is not an ONNX model\n'.repeat(40));
    const head = Buffer.alloc(4096);
    const fd = openSync(sharedPath(YOLOX), 'r');
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    writeFileSync(truncated, head);
    for (const file of [garbage, truncated]) {
      const broken = await caught(Detector.load(file, { worker }));
      expect(isEdgeError(broken, ErrorCode.VisionModelMismatch), broken.message).toBe(true);
      expect(broken.message).toContain(file);
    }

    // The worker survived all of it: no restart, and the session loaded before still answers.
    const frame = frames.get(61)!;
    expectSameBoxes(await remote.detect(frame), await local.detect(frame));
    expect(worker.restarts).toBe(restartsBefore);
    // And it still loads new sessions.
    const other = await Detector.load(sharedPath(SMALL), { worker });
    try {
      expect((await other.detect(frame)).length).toBeGreaterThan(0);
    } finally {
      await other.release();
    }
    expect(worker.restarts).toBe(restartsBefore);
  });

  it('close() lets the call in flight finish, then refuses every later call', async () => {
    const own = new InferenceWorker();
    const detector = await Detector.load(sharedPath(YOLOX), { worker: own });
    const frame = frames.get(21)!;
    const inFlight = detector.detect(frame);
    while (own.inFlight === 0) await new Promise((r) => setImmediate(r));
    // The run is in the thread now. Before the fix close() terminated the thread under it: the
    // call failed, or, with the thread inside session.run, the whole test process aborted
    // ("terminate called after throwing an instance of 'Napi::Error'").
    await own.close();
    expectSameBoxes(await inFlight, await local.detect(frame));
    expect((await caught(detector.detect(frame))).message).toMatch(/inference worker closed/);
    expect((await caught(Detector.load(sharedPath(SMALL), { worker: own }))).message).toMatch(/inference worker closed/);
    expect(own.inFlight).toBe(0);
    expect(own.restarts).toBe(0);
    // The session died with its thread: releasing it has nothing left to do, and does not hang.
    await detector.release();
  });
});

/** Runs a module file in a fresh Node process; resolves with its exit, or kills it after `timeoutMs`. */
function runNode(file: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

describe.skipIf(skip)(`a process with an inference worker exits by itself ${skip ?? ''}`, () => {
  const tempDir = useTempDirs();
  const module = (name: string) => JSON.stringify(pathToFileURL(join(DIST, name)).href);
  const script = (close: boolean) => `
    import { InferenceWorker } from ${module('inference/inference-worker.js')};
    import { Detector } from ${module('detect/person-detector.js')};
    import { readImageFile } from ${module('image-file.js')};
    const worker = new InferenceWorker();
    const detector = await Detector.load(${JSON.stringify(sharedPath(SMALL))}, { worker });
    const frame = readImageFile(${JSON.stringify(framePath(1))});
    const boxes = (await detector.detect(frame)).length;
    let after = '';
    if (${close}) {
      await worker.close();
      after = await detector.detect(frame).then(() => 'resolved', (e) => e.message);
    }
    console.log(JSON.stringify({ boxes, after }));
  `;

  // The process is given 20 s (loading OpenCV and onnxruntime takes 1–2 s here); a worker
  // thread that kept the event loop alive would hold it until the kill.
  it.each([true, false])('after its last call (close() called: %s)', async (close) => {
    const started = performance.now();
    const file = join(tempDir(), 'uses-worker.mjs');
    writeFileSync(file, script(close));
    const result = await runNode(file, 20_000);
    const seconds = (performance.now() - started) / 1000;
    console.log(`child with close() ${close}: exited with ${result.code} after ${seconds.toFixed(1)} s`);
    expect(result.timedOut, `the process did not exit; stderr:\n${result.stderr}`).toBe(false);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { boxes: number; after: string };
    expect(out.boxes).toBeGreaterThan(0);
    expect(out.after).toBe(close ? 'inference worker closed' : '');
  });
});
