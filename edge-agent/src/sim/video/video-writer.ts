/**
 * Encodes raw frames to H.264 in Matroska with Debian's ffmpeg, and writes each frame's store time
 * to a JSON-lines file beside it, so a recording replays through the same ffmpeg ingest as a live
 * camera. The muxer and encoder are told to be bit-exact and single-threaded, and metadata is
 * dropped: the same frames give the same file, on any machine with the same ffmpeg.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';

export interface VideoWriterOptions {
  file: string;
  framesFile: string;
  width: number;
  height: number;
  fps: number;
  /** Byte order of the frames handed to `write`: the simulator renders RGB, OpenCV cameras deliver BGR. */
  pixelFormat?: 'rgb24' | 'bgr24';
  ffmpegPath?: string;
}

export class VideoWriterError extends Error {
  override readonly name = 'VideoWriterError';
}

/** Keyframe interval: a replay can seek to any 2 s boundary. */
const GOP_SECONDS = 2;
const STDERR_TAIL_CHARS = 4_000;

export class VideoWriter {
  /** Frames refused because of their size or time; they are not written. */
  rejectedFrames = 0;
  private child: ChildProcessWithoutNullStreams | undefined;
  private exited: Promise<number | null> | undefined;
  private framesFd: number | undefined;
  private frames = 0;
  private stderrTail = '';
  private spawnError: Error | undefined;
  private finished = false;
  private closed = false;

  constructor(private readonly options: VideoWriterOptions) {
    const { width, height, fps, file } = options;
    // yuv420p halves the chroma planes: odd sizes are refused by libx264.
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2 || width % 2 !== 0 || height % 2 !== 0) {
      throw new VideoWriterError(`${file}: frame size must be even and positive for H.264 yuv420p, got ${width}×${height}`);
    }
    if (!Number.isFinite(fps) || fps <= 0) throw new VideoWriterError(`${file}: fps must be positive, got ${fps}`);
  }

  get frameBytes(): number {
    return this.options.width * this.options.height * 3;
  }

  async start(): Promise<void> {
    if (this.child) throw new VideoWriterError(`${this.options.file}: video writer already started`);
    const { width, height, fps, file, framesFile } = this.options;
    try {
      this.framesFd = openSync(framesFile, 'w');
    } catch (err) {
      throw new VideoWriterError(`${framesFile}: cannot create the frame index: ${(err as Error).message}`, { cause: err });
    }
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', this.options.pixelFormat ?? 'rgb24', '-video_size', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
      '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      '-g', String(Math.max(1, Math.round(fps * GOP_SECONDS))), '-sc_threshold', '0', '-threads', '1',
      // Drops x264's SEI, which spells out its build and options; bit-exact mode drops the rest.
      '-bsf:v', 'filter_units=remove_types=6',
      '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1',
      '-f', 'matroska', file,
    ];
    const child = spawn(this.options.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL_CHARS)));
    // A dead ffmpeg shows up as EPIPE on the next write; the exit status explains it.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.spawnError = err;
        resolve(null);
      });
      child.once('close', (code) => {
        this.closed = true;
        resolve(code);
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => {
        this.closeFramesFile();
        const hint = err.code === 'ENOENT' ? ' (is ffmpeg installed? on Debian: apt-get install ffmpeg)' : '';
        reject(new VideoWriterError(`cannot run ${this.options.ffmpegPath ?? 'ffmpeg'}: ${err.message}${hint}`, { cause: err }));
      });
    });
  }

  /**
   * Appends one frame taken at store time `at`. Resolves once ffmpeg has taken the bytes, so the
   * caller may render the next frame into the same buffer.
   */
  async write(frame: Buffer, at: number): Promise<void> {
    const child = this.child;
    if (!child || this.framesFd === undefined || this.finished) throw new VideoWriterError(`${this.options.file}: video writer is not running`);
    if (frame.length !== this.frameBytes || !Number.isFinite(at)) {
      this.rejectedFrames += 1;
      throw new VideoWriterError(
        `${this.options.file}: frame ${this.frames} refused: ${Number.isFinite(at) ? `${frame.length} bytes, expected ${this.frameBytes}` : `time ${at} is not a number`}`,
      );
    }
    const written = await new Promise<boolean>((resolve) => {
      if (this.closed || child.stdin.destroyed) return resolve(false);
      const onClose = () => resolve(false);
      child.once('close', onClose);
      child.stdin.write(frame, (err) => {
        child.off('close', onClose);
        resolve(!err);
      });
    });
    if (!written) throw this.failure(await this.exited!);
    writeSync(this.framesFd, `{"i":${this.frames},"at":${at}}\n`);
    this.frames += 1;
  }

  /** Closes the stream and waits for ffmpeg; rejects with the end of its error output when it failed. */
  async finish(): Promise<{ frames: number; bytes: number }> {
    const child = this.child;
    if (!child || !this.exited) throw new VideoWriterError(`${this.options.file}: video writer was never started`);
    if (!this.finished) {
      this.finished = true;
      child.stdin.end();
    }
    const code = await this.exited;
    this.closeFramesFile();
    if (code !== 0) throw this.failure(code);
    return { frames: this.frames, bytes: statSync(this.options.file).size };
  }

  private failure(code: number | null): VideoWriterError {
    this.closeFramesFile();
    if (this.spawnError) return new VideoWriterError(`cannot run ffmpeg: ${this.spawnError.message}`, { cause: this.spawnError });
    const tail = this.stderrTail.trim().split('\n').slice(-5).join(' | ');
    return new VideoWriterError(`${this.options.file}: ffmpeg failed (exit ${code ?? 'signal'})${tail ? `: ${tail}` : ''}`);
  }

  private closeFramesFile(): void {
    if (this.framesFd === undefined) return;
    closeSync(this.framesFd);
    this.framesFd = undefined;
  }
}
