import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';

export interface VideoWriterOptions {
  file: string;
  framesFile: string;
  width: number;
  height: number;
  fps: number;
  /** Byte order of the frames handed to `write` (the simulator renders RGB; cameras deliver BGR). */
  pixelFormat?: 'rgb24' | 'bgr24';
  ffmpegPath?: string;
}

/**
 * Encodes raw frames into H.264 in Matroska with Debian's ffmpeg, and writes each frame's store
 * time to a JSON-lines file beside it. The encoder is told to be bit-exact, so the same frames
 * always give the same file — recordings of the same simulated day are identical to the byte.
 */
export class VideoWriter {
  private child: ChildProcessWithoutNullStreams | undefined;
  private framesFd: number | undefined;
  private frames = 0;
  private stderrTail = '';
  private exited: Promise<number | null> | undefined;
  private failure: Error | undefined;

  constructor(private readonly options: VideoWriterOptions) {}

  async start(): Promise<void> {
    const { width, height, fps } = this.options;
    const gop = Math.max(1, Math.round(fps * 2));
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
      '-f', 'rawvideo', '-pix_fmt', this.options.pixelFormat ?? 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-threads', '1',
      '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1', '-metadata', 'encoder=',
      '-f', 'matroska', this.options.file,
    ];
    this.framesFd = openSync(this.options.framesFile, 'w');
    const child = spawn(this.options.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2_000)));
    child.stdin.on('error', (err) => (this.failure ??= err));
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.failure = new Error(`cannot run ffmpeg (${err.message}); is it installed?`);
        resolve(null);
      });
      child.on('close', (code) => resolve(code));
    });
  }

  /** Appends one frame taken at store time `at`; resolves when ffmpeg can take more. */
  async write(frame: Buffer, at: number): Promise<void> {
    const child = this.child;
    if (!child || this.framesFd === undefined) throw new Error('video writer not started');
    if (this.failure) throw this.error();
    writeSync(this.framesFd, JSON.stringify({ i: this.frames, at }) + '\n');
    this.frames += 1;
    if (!child.stdin.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          child.stdin.off('drain', done);
          child.off('close', done);
          resolve();
        };
        child.stdin.on('drain', done);
        child.on('close', done);
      });
    }
  }

  async finish(): Promise<{ frames: number; bytes: number }> {
    const child = this.child;
    if (!child || !this.exited) throw new Error('video writer not started');
    child.stdin.end();
    const code = await this.exited;
    if (this.framesFd !== undefined) closeSync(this.framesFd);
    this.framesFd = undefined;
    this.child = undefined;
    if (code !== 0 || this.failure) throw this.error(code);
    return { frames: this.frames, bytes: statSync(this.options.file).size };
  }

  private error(code?: number | null): Error {
    const why = this.failure?.message ?? `ffmpeg exited with ${code}`;
    return new Error(`${this.options.file}: video encoding failed: ${why}${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
}
