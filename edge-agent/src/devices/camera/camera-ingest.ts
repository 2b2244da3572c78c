import { spawn, type ChildProcess } from 'node:child_process';
import { availability } from '../device-availability.js';
import { Backoff, DEVICE_BACKOFF, type BackoffPolicy } from '../../backoff.js';
import type { EventBus } from '../../bus.js';
import type { StoreClock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { ffmpegCameraArgs, isFiniteInput } from './ffmpeg-input.js';
import { bgr24Bytes, type CameraFrame } from './frame.js';
import { FramePool, type PooledFrame } from './frame-pool.js';

export interface CameraIngestOptions {
  camera: string;
  /** An ffmpeg-readable camera URL: rtsp(s)://, http(s):// (MJPEG), v4l2://, file:// (`?loop=1` to loop; otherwise it ends). */
  url: string;
  fps: number;
  width: number;
  height: number;
  clock: StoreClock;
  log: Logger;
  bus: EventBus;
  /** Gets every frame that is not dropped; must call `frame.release()`, also when it fails. */
  onFrame: (frame: CameraFrame) => void | Promise<void>;
  /** No frame for this long restarts ffmpeg. Default: max(3 s, 5 frame periods). */
  stallMs?: number;
  /** Allowed from spawning ffmpeg to its first frame (connect, probe, first key frame). Default: max(stallMs, 10 s). */
  connectMs?: number;
  /** ffmpeg's own connect/read timeout. Default: stallMs. */
  ioTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Frame buffers: one filling, one waiting, one with the consumer, and slack. Default 4. */
  poolFrames?: number;
  ffmpegPath?: string;
}

export interface CameraIngestHealth extends ComponentHealth {
  online: boolean;
  /** Frames ffmpeg produced. */
  frames: number;
  delivered: number;
  /** Frames replaced by a newer one while the consumer was busy, or with no free buffer. */
  dropped: number;
  /** Frames lost because the consumer held every buffer (a missing `release()`). */
  poolExhausted: number;
  consumerErrors: number;
  restarts: number;
  /** Frames per second arriving over the last few seconds. */
  fps: number;
  /** Mean main-thread time spent copying ffmpeg's output into frame buffers, per frame. */
  copyMsPerFrame: number;
  lastFrameAt: number | null;
  lastError: string | null;
  pid: number | null;
}

const FPS_WINDOW_MS = 3_000;
const FPS_RING = 256;
const KILL_GRACE_MS = 2_000;
const MAX_ERROR_LINE = 300;

/**
 * One camera through ffmpeg: ffmpeg connects, decodes, decimates to the configured fps and scales
 * to the detect size, so Node only copies ready BGR24 frames into pooled buffers. The consumer
 * always gets the newest frame: while it is busy, older frames are dropped and counted, because
 * a tracker is better served by a current picture than by a queue of stale ones.
 */
export class CameraIngest implements Component {
  readonly name: string;
  private readonly frameBytes: number;
  private readonly stallMs: number;
  private readonly connectMs: number;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private pool: FramePool | undefined;
  private args: string[] = [];
  private running = false;
  private child: ChildProcess | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private filling: PooledFrame | undefined;
  private filled = 0;
  private framesThisRun = 0;
  private pending: PooledFrame | undefined;
  private inflight: Promise<void> | undefined;
  private online: boolean | undefined;
  private offlineReason = 'not started';
  private readonly arrivals = new Float64Array(FPS_RING);
  private readonly counts = { frames: 0, delivered: 0, dropped: 0, poolExhausted: 0, consumerErrors: 0, restarts: 0 };
  private copyMs = 0;
  private lastFrameAt: number | undefined;
  private lastError: string | undefined;
  private runError: string | undefined;
  private stalledChild: ChildProcess | undefined;

  constructor(private readonly options: CameraIngestOptions) {
    this.name = `camera:${options.camera}`;
    this.frameBytes = bgr24Bytes(options.width, options.height);
    this.stallMs = options.stallMs ?? Math.max(3_000, Math.ceil(5_000 / options.fps));
    this.connectMs = options.connectMs ?? Math.max(this.stallMs, 10_000);
    this.log = options.log.child({ camera: options.camera });
    this.backoff = new Backoff(options.backoff ?? DEVICE_BACKOFF);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { url, fps, width, height } = this.options;
    // A URL ffmpeg cannot take is a configuration mistake: fail the start rather than retry forever.
    this.args = ffmpegCameraArgs(url, { fps, width, height }, { ioTimeoutMs: Math.max(500, this.options.ioTimeoutMs ?? this.stallMs) });
    this.pool ??= new FramePool(this.options.camera, width, height, this.options.poolFrames ?? 4);
    this.running = true;
    this.backoff.reset();
    this.setOnline(false, 'connecting');
    this.spawnFfmpeg();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.restartTimer);
    clearTimeout(this.watchdog);
    this.restartTimer = undefined;
    this.watchdog = undefined;
    const child = this.child;
    this.child = undefined;
    if (child) await terminate(child);
    if (this.inflight) await this.inflight;
    this.filling?.release();
    this.filling = undefined;
    this.filled = 0;
    if (this.pending) {
      this.pending.release();
      this.pending = undefined;
      this.counts.dropped += 1;
    }
    this.setOnline(false, 'stopped');
  }

  health(): CameraIngestHealth {
    const online = this.online === true;
    return {
      status: online ? 'up' : 'degraded',
      ...(online ? {} : { detail: this.offlineReason }),
      online,
      ...this.counts,
      fps: this.measuredFps(),
      copyMsPerFrame: this.counts.frames === 0 ? 0 : Math.round((this.copyMs / this.counts.frames) * 1000) / 1000,
      lastFrameAt: this.lastFrameAt ?? null,
      lastError: this.lastError ?? null,
      pid: this.child?.pid ?? null,
    };
  }

  private spawnFfmpeg(): void {
    this.filled = 0;
    this.framesThisRun = 0;
    this.runError = undefined;
    let child: ChildProcess;
    try {
      child = spawn(this.options.ffmpegPath ?? 'ffmpeg', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.lastError = describeError(err);
      this.scheduleRestart(`ffmpeg could not be started: ${this.lastError}`);
      return;
    }
    this.child = child;
    this.armWatchdog(child, this.connectMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (child === this.child) this.take(chunk);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (child === this.child) this.noteError(text);
    });
    child.on('error', (err) => {
      this.lastError = describeError(err);
      this.ended(child, `ffmpeg failed: ${this.lastError}`);
    });
    child.on('close', (code, signal) => {
      let why: string;
      if (code === 0 && isFiniteInput(this.options.url)) {
        this.ended(child, 'end of file', false);
        return;
      }
      if (this.stalledChild === child) {
        why = this.framesThisRun === 0 ? `no frame within ${this.connectMs} ms of starting ffmpeg` : `no frame for ${this.stallMs} ms`;
      } else {
        why = `ffmpeg exited (${signal ?? `code ${code}`})${this.runError ? `: ${this.runError}` : ''}`;
      }
      this.ended(child, why);
    });
  }

  private armWatchdog(child: ChildProcess, ms: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (child !== this.child) return;
      this.stalledChild = child;
      child.kill('SIGKILL');
    }, ms);
  }

  private ended(child: ChildProcess, reason: string, restart = true): void {
    if (child !== this.child) return;
    this.child = undefined;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.filling?.release();
    this.filling = undefined;
    if (!this.running) return;
    if (restart) this.scheduleRestart(reason);
    else this.setOnline(false, reason);
  }

  private scheduleRestart(reason: string): void {
    this.setOnline(false, reason);
    const delayMs = this.backoff.next();
    this.log.warn({ reason, delayMs, restarts: this.counts.restarts }, 'camera stream lost; restarting ffmpeg');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      this.counts.restarts += 1;
      this.spawnFfmpeg();
    }, delayMs);
  }

  /** Hot path: copies stdout bytes into whole frames; a chunk may end or start mid-frame. */
  private take(chunk: Buffer): void {
    let started = performance.now();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.filled === 0) this.filling = this.pool!.acquire();
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      if (this.filling) chunk.copy(this.filling.data, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        this.filled = 0;
        this.copyMs += performance.now() - started;
        this.frameArrived();
        started = performance.now();
      }
    }
    this.copyMs += performance.now() - started;
  }

  private frameArrived(): void {
    const at = this.options.clock.now();
    const seq = this.counts.frames++;
    this.arrivals[seq % FPS_RING] = performance.now();
    this.lastFrameAt = at;
    if (this.framesThisRun++ === 0) this.firstFrame();
    else this.watchdog?.refresh();
    const frame = this.filling;
    this.filling = undefined;
    if (!frame) {
      if (this.counts.poolExhausted++ === 0) this.log.error({ frames: this.pool!.capacity }, 'every frame buffer is held by the consumer; frames are dropped until it calls release()');
      this.counts.dropped += 1;
      return;
    }
    frame.seq = seq;
    frame.at = at;
    if (this.inflight) {
      if (this.pending) {
        this.pending.release();
        this.counts.dropped += 1;
      }
      this.pending = frame;
      return;
    }
    this.dispatch(frame);
  }

  private firstFrame(): void {
    this.backoff.up();
    if (this.child) this.armWatchdog(this.child, this.stallMs);
    this.setOnline(true);
  }

  private dispatch(frame: PooledFrame): void {
    this.counts.delivered += 1;
    let result: void | Promise<void>;
    try {
      result = this.options.onFrame(frame);
    } catch (err) {
      this.consumerFailed(err);
      return;
    }
    if (result) this.inflight = result.then(this.consumerDone, this.consumerRejected);
  }

  private readonly consumerDone = (): void => {
    this.inflight = undefined;
    const next = this.pending;
    if (next && this.running) {
      this.pending = undefined;
      this.dispatch(next);
    }
  };

  private readonly consumerRejected = (err: unknown): void => {
    this.consumerFailed(err);
    this.consumerDone();
  };

  private consumerFailed(err: unknown): void {
    this.counts.consumerErrors += 1;
    this.log.error({ err }, 'camera frame consumer failed; later frames are still delivered');
  }

  private noteError(text: string): void {
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!.trim();
      if (line !== '') {
        this.lastError = line.slice(0, MAX_ERROR_LINE);
        this.runError = this.lastError;
        return;
      }
    }
  }

  private setOnline(online: boolean, reason?: string): void {
    if (!online) this.offlineReason = reason ?? 'offline';
    if (this.online === online) return;
    this.online = online;
    if (online) this.log.info('camera online');
    this.options.bus.emit('device.availability', availability(this.options.camera, 'camera', online, this.offlineReason, this.options.clock.now()));
  }

  private measuredFps(): number {
    const total = this.counts.frames;
    if (total < 2) return 0;
    const now = performance.now();
    const newest = this.arrivals[(total - 1) % FPS_RING]!;
    if (now - newest > this.stallMs) return 0;
    let oldest = newest;
    let n = 1;
    for (let k = total - 2; k >= 0 && n < FPS_RING; k--) {
      const t = this.arrivals[k % FPS_RING]!;
      if (now - t > FPS_WINDOW_MS) break;
      oldest = t;
      n += 1;
    }
    return n < 2 || newest === oldest ? 0 : Math.round(((n - 1) * 10_000) / (newest - oldest)) / 10;
  }
}

/** SIGTERM, then SIGKILL if ffmpeg has not exited after a grace period; resolves once it has. */
function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
