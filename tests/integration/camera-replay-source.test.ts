import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../edge-agent/src/backoff.js';
import { VirtualClock } from '../../edge-agent/src/clock.js';
import { CameraReplaySource, type CameraReplaySourceOptions } from '../../edge-agent/src/devices/camera/camera-replay-source.js';
import type { CameraFrame } from '../../edge-agent/src/devices/camera/frame.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { ReplayScheduler } from '../../edge-agent/src/recording/replay-scheduler.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const T0 = 1_760_000_000_000;
const opened: CameraReplaySource[] = [];

afterEach(async () => {
  for (const source of opened.splice(0)) await source.close();
});

/** Video frame k of a recording is one solid colour, so a delivered frame tells which one it is. */
function colourOf(k: number): [number, number, number] {
  return [(k * 23) % 256, 255 - ((k * 11) % 256), 77];
}

/** A lossless recording of `count` solid frames, written by ffmpeg from raw RGB. */
function recordVideo(dir: string, name: string, count: number, width = 64, height = 48): string {
  const raw = Buffer.alloc(count * width * height * 3);
  for (let k = 0; k < count; k++) {
    const rgb = colourOf(k);
    for (let p = k * width * height * 3; p < (k + 1) * width * height * 3; p += 3) raw.set(rgb, p);
  }
  const file = join(dir, name);
  execFileSync(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', '10', '-i', 'pipe:0', '-c:v', 'ffv1', '-pix_fmt', 'bgr0', '-y', file],
    { input: raw },
  );
  return file;
}

function framesFile(dir: string, name: string, lines: readonly { i: number; at: number }[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

interface Seen {
  camera: string;
  seq: number;
  at: number;
  clock: number;
  bgr: number[];
  width: number;
  height: number;
}

function sourceOf(options: Omit<CameraReplaySourceOptions, 'log' | 'onFrame' | 'width' | 'height'> & Partial<CameraReplaySourceOptions>, seen: Seen[], clock: VirtualClock, slowEvery = 0): CameraReplaySource {
  const source: CameraReplaySource = new CameraReplaySource({
    width: 32,
    height: 24,
    log: silentLogger(),
    onFrame: async (frame: CameraFrame) => {
      const centre = ((frame.height >> 1) * frame.width + (frame.width >> 1)) * 3;
      seen.push({ camera: frame.camera, seq: frame.seq, at: frame.at, clock: clock.now(), bgr: [...frame.data.subarray(centre, centre + 3)], width: frame.width, height: frame.height });
      // A consumer slower than the decoder now and then: the queue must hold, not drop.
      if (slowEvery > 0 && seen.length % slowEvery === 0) await sleep(15);
      frame.release();
      expect(source.stats().queued).toBeLessThanOrEqual(options.queueFrames ?? 8);
    },
    ...options,
  });
  opened.push(source);
  return source;
}

function bgrOf(k: number): number[] {
  const [r, g, b] = colourOf(k);
  return [b, g, r];
}

async function replayTwoCameras(dir: string, video1: string, video2: string): Promise<Seen[]> {
  const times1 = Array.from({ length: 12 }, (_, k) => ({ i: k, at: T0 + k * 100 + (k % 3) * 7 }));
  const times2 = Array.from({ length: 9 }, (_, k) => ({ i: k, at: T0 + 50 + k * 130 }));
  const clock = new VirtualClock(T0 - 1);
  const scheduler = new ReplayScheduler(clock);
  const seen: Seen[] = [];
  const one = sourceOf({ camera: 'cam-1', video: video1, framesFile: framesFile(dir, 'cam-1.frames.jsonl', times1), queueFrames: 2 }, seen, clock, 3);
  const two = sourceOf({ camera: 'cam-2', video: video2, framesFile: framesFile(dir, 'cam-2.frames.jsonl', times2), queueFrames: 2 }, seen, clock);
  await one.open();
  await two.open();
  expect(one.peek()).toBe(T0);
  expect(two.peek()).toBe(T0 + 50);
  scheduler.add(one);
  scheduler.add(two);
  const progress = await scheduler.run();
  expect(progress).toEqual({ delivered: 21, at: T0 + 11 * 100 + 2 * 7 });
  expect(one.peek()).toBeUndefined();
  expect(one.stats()).toMatchObject({ listed: 12, delivered: 12, problems: 0, consumerErrors: 0 });
  expect(two.stats()).toMatchObject({ listed: 9, delivered: 9, problems: 0 });
  for (const [camera, times] of [['cam-1', times1], ['cam-2', times2]] as const) {
    const mine = seen.filter((s) => s.camera === camera);
    expect(mine.map((s) => s.seq)).toEqual(times.map((t) => t.i));
    expect(mine.map((s) => s.at)).toEqual(times.map((t) => t.at));
    expect(mine.map((s) => s.bgr)).toEqual(times.map((t) => bgrOf(t.i)));
  }
  return seen;
}

describe('camera replay source', () => {
  it('delivers every recorded frame in time order, at its recorded time, the same way every run', async () => {
    const dir = tempDir();
    const video1 = recordVideo(dir, 'cam-1.mkv', 12);
    const video2 = recordVideo(dir, 'cam-2.mkv', 9, 80, 60);
    const first = await replayTwoCameras(dir, video1, video2);

    expect(first.map((s) => s.at)).toEqual([...first.map((s) => s.at)].sort((a, b) => a - b));
    // The store clock stands at each frame's recorded time while its consumer runs.
    for (const s of first) expect(s.clock).toBe(s.at);
    for (const s of first) expect([s.width, s.height]).toEqual([32, 24]);

    const second = await replayTwoCameras(dir, video1, video2);
    expect(second).toEqual(first);
  });

  it('holds the decoder back while the consumer has not caught up, and still delivers every frame', async () => {
    const dir = tempDir();
    // 230 kB frames: 40 of them are far more than the pipe holds, so only pausing keeps ffmpeg waiting.
    const video = recordVideo(dir, 'big.mkv', 40, 320, 240);
    const list = framesFile(dir, 'big.frames.jsonl', Array.from({ length: 40 }, (_, k) => ({ i: k, at: T0 + k * 100 })));
    const clock = new VirtualClock(T0);
    const seen: Seen[] = [];
    const source = sourceOf({ camera: 'cam-big', video, framesFile: list, width: 320, height: 240, queueFrames: 3 }, seen, clock, 5);
    await source.open();
    await sleep(400);
    expect(source.stats()).toMatchObject({ decoded: 3, queued: 3, delivered: 0 });
    const scheduler = new ReplayScheduler(clock);
    scheduler.add(source);
    await scheduler.run();
    expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: 40 }, (_, k) => k));
    expect(seen.map((s) => s.bgr)).toEqual(Array.from({ length: 40 }, (_, k) => bgrOf(k)));
    expect(source.stats()).toMatchObject({ decoded: 40, delivered: 40, problems: 0 });
  });

  it('skips video frames the frames list leaves out', async () => {
    const dir = tempDir();
    const video = recordVideo(dir, 'cam.mkv', 10);
    const listed = [0, 2, 3, 7].map((i) => ({ i, at: T0 + i * 100 }));
    const clock = new VirtualClock(T0);
    const seen: Seen[] = [];
    const source = sourceOf({ camera: 'cam', video, framesFile: framesFile(dir, 'cam.frames.jsonl', listed) }, seen, clock);
    await source.open();
    const scheduler = new ReplayScheduler(clock);
    scheduler.add(source);
    await scheduler.run();
    expect(seen.map((s) => [s.seq, s.at])).toEqual(listed.map((l) => [l.i, l.at]));
    expect(seen.map((s) => s.bgr)).toEqual(listed.map((l) => bgrOf(l.i)));
  });

  it('names the missing file, or the file and line of a bad frames entry', async () => {
    const dir = tempDir();
    const video = recordVideo(dir, 'cam.mkv', 2);
    const good = framesFile(dir, 'good.jsonl', [{ i: 0, at: T0 }]);
    const clock = new VirtualClock(T0);
    const open = (videoFile: string, frames: string) => sourceOf({ camera: 'cam', video: videoFile, framesFile: frames }, [], clock).open();

    await expect(open(join(dir, 'absent.mkv'), good)).rejects.toThrow(`${join(dir, 'absent.mkv')}: video file not found`);
    await expect(open(video, join(dir, 'absent.jsonl'))).rejects.toThrow(`${join(dir, 'absent.jsonl')}: frames file not found`);

    const bad = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const notJson = bad('not-json.jsonl', `{"i":0,"at":${T0}}\n{"i":1,"at":${T0 + 100}}\n{"i":2,"at":\n`);
    await expect(open(video, notJson)).rejects.toThrow(`${notJson}:3: not JSON`);
    const noTime = bad('no-time.jsonl', `{"i":0,"at":${T0}}\n{"i":1}\n`);
    await expect(open(video, noTime)).rejects.toThrow(`${noTime}:2: expected {"i": frame number ≥ 0, "at": time in ms}`);
    const repeated = bad('repeated.jsonl', `{"i":0,"at":${T0}}\n\n{"i":0,"at":${T0 + 100}}\n`);
    await expect(open(video, repeated)).rejects.toThrow(`${repeated}:3: frame 0 does not follow frame 0`);
    const backwards = bad('backwards.jsonl', `{"i":0,"at":${T0}}\n{"i":1,"at":${T0 - 5}}\n`);
    await expect(open(video, backwards)).rejects.toThrow(`${backwards}:2: time ${T0 - 5} is before the previous frame's ${T0}`);
  });

  it('ends early with a reported problem when the video is shorter than its frames list', async () => {
    const dir = tempDir();
    const video = recordVideo(dir, 'short.mkv', 5);
    const list = framesFile(dir, 'short.frames.jsonl', Array.from({ length: 8 }, (_, k) => ({ i: k, at: T0 + k * 200 })));
    const clock = new VirtualClock(T0);
    const seen: Seen[] = [];
    const problems: string[] = [];
    const source = sourceOf({ camera: 'cam-short', video, framesFile: list, onProblem: (p) => problems.push(p) }, seen, clock);
    await source.open();
    const scheduler = new ReplayScheduler(clock);
    scheduler.add(source);
    await scheduler.run();

    expect(seen.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(source.peek()).toBeUndefined();
    expect(source.stats()).toMatchObject({ listed: 8, decoded: 5, delivered: 5, problems: 1 });
    expect(problems).toEqual([source.problem]);
    expect(source.problem).toBe(`${video}: the video has 5 frames, but ${list} lists 8; camera cam-short replays only the first 5`);
  });

  it('reports ffmpeg\'s own error when the video cannot be decoded', async () => {
    const dir = tempDir();
    const video = join(dir, 'broken.mkv');
    writeFileSync(video, 'this is not a video');
    const list = framesFile(dir, 'broken.frames.jsonl', [{ i: 0, at: T0 }, { i: 1, at: T0 + 100 }]);
    const clock = new VirtualClock(T0);
    const seen: Seen[] = [];
    const source = sourceOf({ camera: 'cam-broken', video, framesFile: list }, seen, clock);
    await source.open();
    const scheduler = new ReplayScheduler(clock);
    scheduler.add(source);
    await scheduler.run();
    expect(seen).toEqual([]);
    expect(source.stats().problems).toBe(1);
    expect(source.problem).toMatch(new RegExp(`^${video}: ffmpeg exited \\(code \\d+\\): .+, but ${list} lists 2; camera cam-broken replays only the first 0$`));
  });

  it('fails clearly instead of hanging when the consumer keeps every frame', async () => {
    const dir = tempDir();
    const video = recordVideo(dir, 'cam.mkv', 6);
    const list = framesFile(dir, 'cam.frames.jsonl', Array.from({ length: 6 }, (_, k) => ({ i: k, at: T0 + k * 100 })));
    const kept: CameraFrame[] = [];
    const source = new CameraReplaySource({ camera: 'cam', video, framesFile: list, width: 32, height: 24, queueFrames: 1, log: silentLogger(), onFrame: (f) => void kept.push(f) });
    opened.push(source);
    await source.open();
    const scheduler = new ReplayScheduler(new VirtualClock(T0));
    scheduler.add(source);
    await expect(scheduler.run()).rejects.toThrow(/the frame consumer holds all 3 frame buffers, so .*cam\.mkv cannot be decoded further/);
    expect(kept).toHaveLength(3);
  });
});
