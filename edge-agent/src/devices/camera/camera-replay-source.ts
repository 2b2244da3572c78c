import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ReplaySource } from '../../recording/replay-scheduler.js';
import { ffmpegDecodeArgs } from './ffmpeg-input.js';
import { bgr24Bytes, type CameraFrame } from './frame.js';
import { FramePool, type PooledFrame } from './frame-pool.js';

export interface CameraReplaySourceOptions {
  camera: string;
  /** The recorded video, any format ffmpeg reads. */
  video: string;
  /** One `{"i": frame number in the video, "at": store time in ms}` line per frame to replay. */
  framesFile: string;
  width: number;
  height: number;
  log: Logger;
  /** Gets every listed frame in order; must call `frame.release()`, also when it fails. */
  onFrame: (frame: CameraFrame) => void | Promise<void>;
  /** Decoded frames kept ahead of the consumer. Default 8. */
  queueFrames?: number;
  onProblem?: (message: string) => void;
  ffmpegPath?: string;
}

export interface CameraReplayStats {
  listed: number;
  decoded: number;
  queued: number;
  delivered: number;
  consumerErrors: number;
  problems: number;
}

export class CameraReplayError extends Error {
  override readonly name = 'CameraReplayError';
}

/**
 * A recorded camera played into the replay scheduler. The decoder runs ahead of the consumer
 * only as far as a small queue and pauses there; no frame is skipped, however slow the consumer,
 * so the same recording always yields the same tracks and the same facts.
 */
export class CameraReplaySource implements ReplaySource {
  readonly name: string;
  /** Set when the replay ended before its frames list did, e.g. a video shorter than the list. */
  problem: string | undefined;
  private readonly frameBytes: number;
  private readonly log: Logger;
  private videoIndex = new Float64Array(0);
  private times = new Float64Array(0);
  /** Listed frames that can still be delivered; shrinks when the video turns out short. */
  private playable = 0;
  private next = 0;
  private assigned = 0;
  private pool: FramePool | undefined;
  private queue: (PooledFrame | undefined)[] = [];
  private head = 0;
  private queued = 0;
  private child: ChildProcess | undefined;
  private stdout: Readable | undefined;
  private decoding = false;
  private filling: PooledFrame | undefined;
  private filled = 0;
  private decoded = 0;
  /** Decoder output not yet copied into frames: usually empty, a chunk or two while the queue is full. */
  private readonly unread: Buffer[] = [];
  private unreadOffset = 0;
  private resumeScheduled = false;
  private queueLimit = 0;
  /** ffmpeg has exited (with this failure, if any); its last output may still be unread. */
  private exited: { failure: string | undefined } | undefined;
  private outputEnded = false;
  private waiter: { resolve: (frame: PooledFrame | undefined) => void; reject: (err: Error) => void } | undefined;
  private errorLine: string | undefined;
  private readonly counts = { delivered: 0, consumerErrors: 0, problems: 0 };

  constructor(private readonly options: CameraReplaySourceOptions) {
    this.name = `camera:${options.camera}`;
    this.frameBytes = bgr24Bytes(options.width, options.height);
    this.log = options.log.child({ camera: options.camera, video: options.video });
  }

  /** Reads the frames list and starts decoding; rejects with a CameraReplayError naming the bad file or line. */
  async open(): Promise<void> {
    const { video, framesFile, width, height } = this.options;
    readable(video, 'video file');
    readable(framesFile, 'frames file');
    this.readFramesList(framesFile);
    if (this.playable === 0) return;
    this.queueLimit = this.options.queueFrames ?? 8;
    if (!Number.isInteger(this.queueLimit) || this.queueLimit < 1) throw new RangeError(`queueFrames must be a positive integer, got ${this.queueLimit}`);
    // One frame filling, the queue, and one with the consumer.
    const capacity = this.queueLimit + 2;
    this.pool = new FramePool(this.options.camera, width, height, capacity, this.onRelease);
    this.queue = new Array<PooledFrame | undefined>(capacity).fill(undefined);
    const child = spawn(this.options.ffmpegPath ?? 'ffmpeg', ffmpegDecodeArgs(video, { width, height }), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.stdout = child.stdout;
    this.decoding = true;
    child.stdout.on('data', (chunk: Buffer) => {
      this.unread.push(chunk);
      if (this.unread.length === 1) this.take();
    });
    // The process can be gone while its output still waits in a paused pipe: only 'end' says it was all read.
    child.stdout.on('end', () => {
      this.outputEnded = true;
      this.finishIfDrained();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const line = text.trim().split('\n').pop();
      if (line) this.errorLine = line.slice(0, 300);
    });
    child.on('error', (err) => {
      this.outputEnded = true;
      this.decoderExited(child, `ffmpeg failed: ${describeError(err)}`);
    });
    child.on('close', (code, signal) => this.decoderExited(child, code === 0 ? undefined : `ffmpeg exited (${signal ?? `code ${code}`})${this.errorLine ? `: ${this.errorLine}` : ''}`));
  }

  peek(): number | undefined {
    return this.next < this.playable ? this.times[this.next] : undefined;
  }

  async deliver(): Promise<void> {
    if (this.next >= this.playable) return;
    const frame = this.dequeue() ?? (await this.waitForFrame());
    if (!frame) {
      // The decoder ended before this frame: finishIfDrained already described why.
      this.playable = this.next;
      return;
    }
    this.next += 1;
    this.counts.delivered += 1;
    try {
      await this.options.onFrame(frame);
    } catch (err) {
      this.counts.consumerErrors += 1;
      this.log.error({ err, seq: frame.seq }, 'camera frame consumer failed during replay; replay continues');
    }
  }

  stats(): CameraReplayStats {
    return { listed: this.times.length, decoded: this.decoded, queued: this.queued, ...this.counts };
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.decoding = false;
    this.playable = this.next;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGKILL');
      await closed;
    }
    this.unread.length = 0;
    this.filling?.release();
    this.filling = undefined;
    for (let frame = this.dequeue(); frame; frame = this.dequeue()) frame.release();
    this.wake(undefined);
  }

  private readFramesList(file: string): void {
    const lines = readFileSync(file, 'utf8').split('\n');
    const index: number[] = [];
    const at: number[] = [];
    for (let n = 0; n < lines.length; n++) {
      const text = lines[n]!.trim();
      if (text === '') continue;
      const where = `${file}:${n + 1}`;
      let entry: unknown;
      try {
        entry = JSON.parse(text);
      } catch (err) {
        throw new CameraReplayError(`${where}: not JSON (${describeError(err)})`);
      }
      const { i, at: t } = (typeof entry === 'object' && entry !== null ? entry : {}) as { i?: unknown; at?: unknown };
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || typeof t !== 'number' || !Number.isFinite(t)) {
        throw new CameraReplayError(`${where}: expected {"i": frame number ≥ 0, "at": time in ms}, got ${text.slice(0, 80)}`);
      }
      const prevIndex = index[index.length - 1];
      const prevAt = at[at.length - 1];
      if (prevIndex !== undefined && i <= prevIndex) throw new CameraReplayError(`${where}: frame ${i} does not follow frame ${prevIndex}`);
      if (prevAt !== undefined && t < prevAt) throw new CameraReplayError(`${where}: time ${t} is before the previous frame's ${prevAt}`);
      index.push(i);
      at.push(t);
    }
    this.videoIndex = Float64Array.from(index);
    this.times = Float64Array.from(at);
    this.playable = at.length;
  }

  /**
   * Copies decoder output into pooled frames. With the queue full or no free frame it stops and
   * pauses ffmpeg's output until a frame is taken or released. Node resumes a child's output once
   * the child exits, so what still arrives then waits in `unread` (at most a pipe's worth).
   */
  private take(): void {
    while (this.unread.length > 0 && this.decoding) {
      const chunk = this.unread[0]!;
      let offset = this.unreadOffset;
      while (offset < chunk.length) {
        if (this.filled === 0) {
          this.filling = this.queued < this.queueLimit ? this.pool!.acquire() : undefined;
          if (!this.filling) {
            this.unreadOffset = offset;
            this.stdout?.pause();
            // A waiting deliver() means the queue is empty: every buffer is with the consumer.
            if (this.waiter) this.failWaiter(this.consumerHoldsEverything());
            return;
          }
        }
        const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
        chunk.copy(this.filling!.data, this.filled, offset, offset + n);
        this.filled += n;
        offset += n;
        if (this.filled === this.frameBytes) {
          this.filled = 0;
          this.frameDecoded();
          if (!this.decoding) return;
        }
      }
      this.unread.shift();
      this.unreadOffset = 0;
    }
    this.stdout?.resume();
    this.finishIfDrained();
  }

  private frameDecoded(): void {
    const frame = this.filling!;
    this.filling = undefined;
    const index = this.decoded++;
    if (index < this.videoIndex[this.assigned]!) {
      // A video frame the list leaves out (the recorder dropped it): not part of the replay.
      frame.release();
      return;
    }
    frame.seq = this.videoIndex[this.assigned]!;
    frame.at = this.times[this.assigned]!;
    this.assigned += 1;
    if (this.waiter) this.wake(frame);
    else this.enqueue(frame);
    if (this.assigned === this.times.length) this.stopDecoder();
  }

  /** Called when a frame is released or taken from the queue: room to decode again. */
  private readonly onRelease = (): void => {
    if (this.unread.length === 0 || this.resumeScheduled) return;
    this.resumeScheduled = true;
    // Not from inside the consumer's release(): resume once it has returned.
    queueMicrotask(this.resume);
  };

  private readonly resume = (): void => {
    this.resumeScheduled = false;
    this.take();
  };

  private waitForFrame(): Promise<PooledFrame | undefined> {
    if (!this.decoding) return Promise.resolve(undefined);
    if (this.unread.length > 0 && this.pool!.available === 0) return Promise.reject(this.consumerHoldsEverything());
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private consumerHoldsEverything(): CameraReplayError {
    return new CameraReplayError(
      `camera ${this.options.camera}: the frame consumer holds all ${this.pool!.capacity} frame buffers, so ${this.options.video} cannot be decoded further; frames must be released`,
    );
  }

  private wake(frame: PooledFrame | undefined): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(frame);
  }

  private failWaiter(err: Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
  }

  private enqueue(frame: PooledFrame): void {
    this.queue[(this.head + this.queued) % this.queue.length] = frame;
    this.queued += 1;
  }

  private dequeue(): PooledFrame | undefined {
    if (this.queued === 0) return undefined;
    const frame = this.queue[this.head];
    this.queue[this.head] = undefined;
    this.head = (this.head + 1) % this.queue.length;
    this.queued -= 1;
    this.onRelease();
    return frame;
  }

  /** Every listed frame is decoded: anything after it in the video is not needed. */
  private stopDecoder(): void {
    const child = this.child;
    this.decoding = false;
    this.unread.length = 0;
    child?.kill('SIGKILL');
  }

  private decoderExited(child: ChildProcess, failure: string | undefined): void {
    if (child !== this.child || this.exited) return;
    this.exited = { failure };
    this.finishIfDrained();
  }

  /** Once ffmpeg has exited and its last output is taken apart: did the video hold every listed frame? */
  private finishIfDrained(): void {
    if (!this.exited || !this.outputEnded || this.unread.length > 0 || !this.decoding) return;
    const { failure } = this.exited;
    this.decoding = false;
    if (this.assigned < this.times.length) {
      const why = failure ?? `the video has ${this.decoded} frames`;
      this.problem = `${this.options.video}: ${why}, but ${this.options.framesFile} lists ${this.times.length}; camera ${this.options.camera} replays only the first ${this.assigned}`;
      this.counts.problems += 1;
      this.playable = this.assigned;
      this.log.warn({ problem: this.problem }, 'camera recording ends early');
      this.options.onProblem?.(this.problem);
    }
    this.filling?.release();
    this.filling = undefined;
    this.wake(undefined);
  }
}

function readable(file: string, what: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CameraReplayError(code === 'ENOENT' ? `${file}: ${what} not found` : `${file}: ${what} cannot be read (${code ?? describeError(err)})`);
  }
}
