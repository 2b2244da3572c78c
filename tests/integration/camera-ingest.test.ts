import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackoffPolicy } from '../../edge-agent/src/backoff.js';
import { sleep } from '../../edge-agent/src/backoff.js';
import { EventBus } from '../../edge-agent/src/bus.js';
import { LiveClock } from '../../edge-agent/src/clock.js';
import { CameraIngest, type CameraIngestOptions } from '../../edge-agent/src/devices/camera/camera-ingest.js';
import { ffmpegCameraArgs, ffmpegInputArgs } from '../../edge-agent/src/devices/camera/ffmpeg-input.js';
import type { CameraFrame } from '../../edge-agent/src/devices/camera/frame.js';
import type { DeviceAvailability } from '../../edge-agent/src/devices/device-availability.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { MjpegServer } from '../../edge-agent/src/sim/live/mjpeg-server.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const FAST_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 300, factor: 2, jitter: 0 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A short test-pattern video, made by ffmpeg itself. */
function testVideo(dir: string, size: string, rate: number, seconds: number): string {
  const file = join(dir, `testsrc-${size}-${rate}.mp4`);
  execFileSync('ffmpeg', [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}:duration=${seconds}`,
    '-c:v', 'mpeg4', '-q:v', '5', '-y', file,
  ]);
  return file;
}

interface Harness {
  ingest: CameraIngest;
  frames: CameraFrame[];
  availability: DeviceAvailability[];
}

function ingestOf(options: Partial<CameraIngestOptions> & Pick<CameraIngestOptions, 'url'>, onFrame?: CameraIngestOptions['onFrame']): Harness {
  const frames: CameraFrame[] = [];
  const availability: DeviceAvailability[] = [];
  const bus = new EventBus(silentLogger());
  bus.on('device.availability', 'test', (a) => void availability.push(a));
  const ingest = new CameraIngest({
    camera: 'cam-test',
    fps: 10,
    width: 160,
    height: 90,
    clock: new LiveClock(),
    log: silentLogger(),
    bus,
    backoff: FAST_BACKOFF,
    onFrame:
      onFrame ??
      ((frame) => {
        // Keep a copy of what matters and hand the buffer back at once.
        frames.push({ ...frame, data: Buffer.from(frame.data) });
        frame.release();
      }),
    ...options,
  });
  cleanups.push(() => ingest.stop());
  return { ingest, frames, availability };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Publishes solid-colour RGB frames at a steady rate until the returned function is called. */
function publishing(server: MjpegServer, camera: string, width: number, height: number, fps: number, rgb: [number, number, number]): () => void {
  const frame = Buffer.alloc(width * height * 3);
  for (let p = 0; p < frame.length; p += 3) frame.set(rgb, p);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void server.publish(camera, frame, width, height).finally(() => (busy = false));
  }, 1000 / fps);
  const stop = () => clearInterval(timer);
  cleanups.push(stop);
  return stop;
}

async function mjpegServer(): Promise<MjpegServer> {
  const server = new MjpegServer();
  await server.listen();
  cleanups.push(() => server.close());
  return server;
}

function pixel(frame: CameraFrame, x: number, y: number): number[] {
  const at = (y * frame.width + x) * 3;
  return [...frame.data.subarray(at, at + 3)];
}

function rate(frames: readonly CameraFrame[]): number {
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  return ((frames.length - 1) * 1000) / (last.at - first.at);
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** After stop nothing of the ingest may fire: no restart after the longest back-off, no extra timer. */
async function expectNothingLeftRunning(ingest: CameraIngest, timersBefore: number): Promise<void> {
  const after = ingest.health();
  expect(after.pid).toBeNull();
  expect(timers()).toBeLessThanOrEqual(timersBefore);
  await sleep(FAST_BACKOFF.maxMs + 200);
  expect(ingest.health()).toEqual({ ...after, fps: 0 });
}

describe('ffmpeg arguments', () => {
  it('turns each camera URL scheme into the matching input options', () => {
    expect(ffmpegInputArgs('rtsp://cam/stream', { ioTimeoutMs: 2_000 })).toEqual(expect.arrayContaining(['-rtsp_transport', 'tcp', '-timeout', '2000000']));
    expect(ffmpegInputArgs('http://cam/video.mjpg')).toEqual(expect.arrayContaining(['-f', 'mpjpeg', '-rw_timeout', '-use_wallclock_as_timestamps']));
    expect(ffmpegInputArgs('v4l2:///dev/video2?format=mjpeg&size=1280x720')).toEqual(['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-i', '/dev/video2']);
    expect(ffmpegInputArgs('file:///videos/aisle%201.mp4?loop=1')).toEqual(['-re', '-stream_loop', '-1', '-i', 'file:/videos/aisle 1.mp4']);
    expect(ffmpegInputArgs('file:///videos/aisle.mp4')).toEqual(['-re', '-i', 'file:/videos/aisle.mp4']);
    const args = ffmpegCameraArgs('rtsp://cam/stream', { fps: 5, width: 640, height: 360 });
    expect(args.slice(0, 4)).toEqual(['-nostdin', '-hide_banner', '-loglevel', 'error']);
    expect(args[args.indexOf('-vf') + 1]).toMatch(/^fps=5,scale=640:360/);
    expect(args.slice(-5)).toEqual(['-pix_fmt', 'bgr24', '-f', 'rawvideo', 'pipe:1']);
  });

  it('refuses URLs ffmpeg must not be given, naming the URL', () => {
    expect(() => ffmpegInputArgs('sim://overhead-1')).toThrow(/sim:\/\/overhead-1: sim:\/\/ cameras are not ffmpeg inputs/);
    expect(() => ffmpegInputArgs('replay://rec')).toThrow(/not ffmpeg inputs/);
    expect(() => ffmpegInputArgs('ftp://cam/x')).toThrow(/ftp:\/\/cam\/x: unknown camera scheme/);
    expect(() => ffmpegInputArgs('v4l2://video0')).toThrow(/device path/);
    expect(() => ffmpegInputArgs('v4l2:///dev/video0?size=big')).toThrow(/WIDTHxHEIGHT/);
  });
});

describe('simulator MJPEG server', () => {
  it('gives a client that stops reading only the newest frame, never a backlog', async () => {
    const server = await mjpegServer();
    const client = await new Promise<IncomingMessage>((resolve) => get(server.url('cam-busy'), resolve));
    cleanups.push(() => void client.destroy());
    expect(client.headers['content-type']).toBe('multipart/x-mixed-replace; boundary=edgeframe');
    client.pause();
    await waitFor('the client to be registered', () => server.stats().clients === 1);

    // Noise does not compress: each frame is hundreds of kB, so the socket fills after a few.
    const width = 960;
    const height = 540;
    const noise = Buffer.alloc(width * height * 3);
    let seed = 12345;
    for (let i = 0; i < noise.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      noise[i] = seed >>> 24;
    }
    const published = 40;
    for (let k = 0; k < published - 1; k++) await server.publish('cam-busy', noise, width, height);
    const last = Buffer.alloc(width * height * 3);
    for (let p = 0; p < last.length; p += 3) last.set([20, 90, 240], p);
    await server.publish('cam-busy', last, width, height);
    expect(server.stats().skipped).toBeGreaterThan(0);

    const received: Buffer[] = [];
    client.on('data', (d: Buffer) => void received.push(d));
    client.resume();
    // The solid frame compresses to a few kB, unlike the noise before it.
    await waitFor('the newest frame to arrive', () => jpegs(Buffer.concat(received)).some((part) => part.length < 50_000));
    const parts = jpegs(Buffer.concat(received));
    expect(parts.length).toBeLessThan(published);
    const { data, info } = await sharp(parts[parts.length - 1]!).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([width, height]);
    const centre = ((height >> 1) * width + (width >> 1)) * info.channels;
    const [r, g, b] = data.subarray(centre, centre + 3);
    expect(Math.abs(r! - 20)).toBeLessThan(8);
    expect(Math.abs(g! - 90)).toBeLessThan(8);
    expect(Math.abs(b! - 240)).toBeLessThan(8);

    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await server.close();
    await ended;
  });

  it('answers 404 outside /<camera>.mjpg and refuses a frame of the wrong size', async () => {
    const server = await mjpegServer();
    const res = await fetch(`http://127.0.0.1:${server.port}/cameras`);
    expect(res.status).toBe(404);
    await expect(server.publish('cam', Buffer.alloc(10), 4, 4)).rejects.toThrow('mjpeg cam: a 4×4 RGB24 frame has 48 bytes, got 10');
    expect(server.stats().rejected).toBe(1);
  });
});

describe('camera ingest', () => {
  it('scales and decimates a looping file to the detect size and fps', async () => {
    // 4:3 at 25 fps in, 16:9 at 10 fps out: the picture is letterboxed, not stretched.
    const video = testVideo(tempDir(), '320x240', 25, 1);
    const { ingest, frames, availability } = ingestOf({ url: `file://${video}?loop=1`, fps: 10, width: 192, height: 108 });
    await ingest.start();
    await waitFor('25 frames', () => frames.length >= 25);
    const health = ingest.health();
    await ingest.stop();

    for (const frame of frames) {
      expect([frame.camera, frame.width, frame.height, frame.data.length]).toEqual(['cam-test', 192, 108, 192 * 108 * 3]);
    }
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    // Looping means the 1 s file never ended the stream.
    expect(health.restarts).toBe(0);
    expect(rate(frames)).toBeGreaterThan(8);
    expect(rate(frames)).toBeLessThan(12.5);
    expect(health.fps).toBeGreaterThan(8);
    expect(health.fps).toBeLessThan(12.5);
    // Padding bars left and right (144 px picture in 192), picture in the middle.
    const mid = frames[frames.length - 1]!;
    expect(pixel(mid, 2, 54)).toEqual([0, 0, 0]);
    expect(pixel(mid, 189, 54)).toEqual([0, 0, 0]);
    let brightest = 0;
    for (let x = 30; x < 160; x++) brightest = Math.max(brightest, ...pixel(mid, x, 54));
    expect(brightest).toBeGreaterThan(150);
    expect(availability.map((a) => [a.device, a.kind, a.online])).toEqual([
      ['cam-test', 'camera', false],
      ['cam-test', 'camera', true],
      ['cam-test', 'camera', false],
    ]);
    expect(availability[2]!.reason).toBe('stopped');
  });

  it('plays a file without ?loop once and then stays offline without restarting', async () => {
    const video = testVideo(tempDir(), '160x120', 20, 0.6);
    const { ingest, frames, availability } = ingestOf({ url: `file://${video}`, fps: 10 });
    await ingest.start();
    await waitFor('the end of the file', () => availability.length === 3);
    expect(availability.map((a) => [a.online, a.reason])).toEqual([[false, 'connecting'], [true, undefined], [false, 'end of file']]);
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames.length).toBeLessThanOrEqual(7);
    await sleep(FAST_BACKOFF.maxMs + 100);
    expect(ingest.health()).toMatchObject({ status: 'degraded', detail: 'end of file', restarts: 0, frames: frames.length, pid: null });
  });

  it('ingests the simulator MJPEG server as BGR frames of the detect size', async () => {
    const server = await mjpegServer();
    publishing(server, 'cam-mjpeg', 640, 480, 10, [230, 20, 10]);
    const { ingest, frames, availability } = ingestOf({ url: server.url('cam-mjpeg'), fps: 5, width: 320, height: 180 });
    const before = Date.now();
    await ingest.start();
    await waitFor('5 frames', () => frames.length >= 5);
    expect(ingest.health()).toMatchObject({ status: 'up', online: true, restarts: 0 });
    await ingest.stop();

    const frame = frames[frames.length - 1]!;
    expect([frame.width, frame.height]).toEqual([320, 180]);
    // Red in, BGR out: the red byte comes last.
    const [b, g, r] = pixel(frame, 160, 90);
    expect(r).toBeGreaterThan(200);
    expect(b!).toBeLessThan(40);
    expect(g!).toBeLessThan(50);
    expect(frame.at).toBeGreaterThanOrEqual(before);
    expect(frame.at).toBeLessThanOrEqual(Date.now());
    expect(availability.filter((a) => a.online)).toHaveLength(1);
  });

  it('gives a slow consumer the newest frame and counts the ones it missed', async () => {
    const server = await mjpegServer();
    publishing(server, 'cam-slow', 320, 240, 20, [40, 200, 40]);
    const delivered: number[] = [];
    const newestWhenDone: number[] = [];
    const { ingest } = ingestOf({ url: server.url('cam-slow'), fps: 10 }, async (frame) => {
      delivered.push(frame.seq);
      await sleep(350);
      frame.release();
      newestWhenDone.push(ingest.health().frames - 1);
    });
    await ingest.start();
    await waitFor('5 slow deliveries', () => newestWhenDone.length >= 5, 8_000);
    await ingest.stop();

    const health = ingest.health();
    expect(health.dropped).toBeGreaterThan(5);
    expect(health.delivered + health.dropped).toBe(health.frames);
    // Each delivery after a busy spell is the frame that was newest when the consumer finished.
    for (let k = 1; k < newestWhenDone.length && k < delivered.length; k++) {
      expect(delivered[k]).toBe(newestWhenDone[k - 1]);
      expect(delivered[k]! - delivered[k - 1]!).toBeGreaterThan(1);
    }
  });

  it('restarts ffmpeg when the stream stops and recovers when it resumes', async () => {
    const server = await mjpegServer();
    let stopPublishing = publishing(server, 'cam-stall', 320, 240, 10, [200, 200, 200]);
    const { ingest, frames, availability } = ingestOf({ url: server.url('cam-stall'), stallMs: 500, connectMs: 800, ioTimeoutMs: 5_000 });
    await ingest.start();
    await waitFor('first frames', () => frames.length >= 2);
    stopPublishing();
    await waitFor('the stall to be noticed', () => availability.some((a) => !a.online && /no frame for 500 ms/.test(a.reason ?? '')));
    expect(ingest.health()).toMatchObject({ status: 'degraded', online: false });
    await waitFor('a restart', () => ingest.health().restarts >= 1);
    const before = frames.length;
    stopPublishing = publishing(server, 'cam-stall', 320, 240, 10, [200, 200, 200]);
    await waitFor('frames after the restart', () => frames.length >= before + 3);
    expect(ingest.health()).toMatchObject({ status: 'up', online: true });
    stopPublishing();
    expect(availability.map((a) => a.online)).toEqual([false, true, false, true]);
  });

  it('restarts ffmpeg after it is killed', async () => {
    const server = await mjpegServer();
    publishing(server, 'cam-kill', 320, 240, 10, [10, 10, 200]);
    const { ingest, frames, availability } = ingestOf({ url: server.url('cam-kill') });
    await ingest.start();
    await waitFor('first frames', () => frames.length >= 2);
    const pid = ingest.health().pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new ffmpeg', () => ingest.health().restarts === 1 && ingest.health().pid !== null);
    expect(ingest.health().pid).not.toBe(pid);
    const before = frames.length;
    await waitFor('frames from the new ffmpeg', () => frames.length >= before + 2);
    expect(availability.find((a) => !a.online && a.reason !== 'connecting')?.reason).toMatch(/SIGKILL/);
  });

  it('drops frames instead of growing when the consumer never releases them', async () => {
    const video = testVideo(tempDir(), '160x90', 25, 1);
    const held: CameraFrame[] = [];
    const { ingest } = ingestOf({ url: `file://${video}?loop=1`, fps: 25, poolFrames: 3 }, (frame) => void held.push(frame));
    await ingest.start();
    await waitFor('frames beyond the pool', () => ingest.health().frames >= 8);
    const health = ingest.health();
    expect(held).toHaveLength(3);
    expect(health.delivered).toBe(3);
    expect(health.poolExhausted).toBe(health.frames - 3);
    // Frames still arrive, so the camera is not mistaken for a stalled one.
    expect(health).toMatchObject({ online: true, restarts: 0 });
    for (const frame of held) frame.release();
    await waitFor('deliveries again', () => ingest.health().delivered > 3);
  });

  it('never blocks start() on an HTTP camera that accepts and never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      silent.close(() => resolve());
    }));
    const port = (silent.address() as { port: number }).port;
    const timersBefore = timers();
    const { ingest, availability } = ingestOf({ url: `http://127.0.0.1:${port}/cam.mjpg`, stallMs: 300, connectMs: 300 });

    const t0 = performance.now();
    await ingest.start();
    expect(performance.now() - t0).toBeLessThan(100);
    expect(ingest.health()).toMatchObject({ status: 'degraded', online: false, detail: 'connecting' });
    await waitFor('two restarts', () => ingest.health().restarts >= 2);
    const pid = ingest.health().pid;
    await ingest.stop();

    expect(ingest.health()).toMatchObject({ online: false, frames: 0, detail: 'stopped' });
    expect(availability.map((a) => a.online)).toEqual([false]);
    expect(availability[0]!.reason).toBe('connecting');
    if (pid !== null) expect(() => process.kill(pid, 0)).toThrow();
    await expectNothingLeftRunning(ingest, timersBefore);
  });

  it('keeps retrying an RTSP camera whose port is closed, with ffmpeg\'s error on health', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const timersBefore = timers();
    const { ingest } = ingestOf({ url: `rtsp://127.0.0.1:${port}/stream`, stallMs: 300 });

    const t0 = performance.now();
    await ingest.start();
    expect(performance.now() - t0).toBeLessThan(100);
    await waitFor('two restarts', () => ingest.health().restarts >= 2);
    const health = ingest.health();
    expect(health).toMatchObject({ status: 'degraded', online: false, frames: 0 });
    expect(health.lastError).toMatch(/Connection refused/);
    expect(health.detail).toMatch(/ffmpeg exited \(code \d+\): .*Connection refused/);
    await ingest.stop();
    await expectNothingLeftRunning(ingest, timersBefore);
  });

  it('measures the per-frame cost of a 640×360 stream at 5 fps', async () => {
    const video = testVideo(tempDir(), '1280x720', 25, 1);
    let count = 0;
    let badSize = 0;
    const { ingest } = ingestOf({ url: `file://${video}?loop=1`, fps: 5, width: 640, height: 360 }, (frame) => {
      count += 1;
      if (frame.data.length !== 640 * 360 * 3) badSize += 1;
      frame.release();
    });
    await ingest.start();
    await waitFor('the first frame', () => count >= 1);
    const pid = ingest.health().pid!;
    const ffmpegCpu0 = processCpuMs(pid);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const count0 = count;
    await sleep(4_000);
    const n = count - count0;
    const nodeMs = cpuMs(process.cpuUsage(cpu0));
    const ffmpegMs = processCpuMs(pid) - ffmpegCpu0;
    const wallMs = performance.now() - wall0;
    await ingest.stop();

    expect(badSize).toBe(0);
    expect(n).toBeGreaterThanOrEqual(17);
    const perFrame = nodeMs / n;
    console.log(
      `camera ingest 1280×720 mpeg4 → 640×360 bgr24 @ 5 fps: ${n} frames in ${(wallMs / 1000).toFixed(1)} s; ` +
        `node ${perFrame.toFixed(2)} ms CPU/frame (${((100 * nodeMs) / wallMs).toFixed(1)}% of a core, the idle test worker included); ` +
        `ffmpeg ${(ffmpegMs / n).toFixed(1)} ms CPU/frame (${((100 * ffmpegMs) / wallMs).toFixed(1)}% of a core, decoding 25 fps 720p)`,
    );
    // A generous ceiling: copying 0.7 MB into a pooled buffer must stay far below a frame period.
    expect(perFrame).toBeLessThan(20);
  }, 15_000);
});

/** The JPEG parts of a multipart stream, by their Content-Length headers. */
function jpegs(stream: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  const text = stream.toString('latin1');
  const header = /Content-Length: (\d+)\r\n\r\n/g;
  for (let m = header.exec(text); m; m = header.exec(text)) {
    const start = m.index + m[0].length;
    const length = Number(m[1]);
    if (start + length > stream.length) break;
    parts.push(stream.subarray(start, start + length));
  }
  return parts;
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** utime + stime of a process from /proc, in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
