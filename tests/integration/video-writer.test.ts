import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VideoWriter, VideoWriterError } from '../../edge-agent/src/sim/video/video-writer.js';
import { useTempDirs } from '../support/temp-dir.js';

const WIDTH = 160;
const HEIGHT = 96;
const FPS = 5;
const START = 1_767_000_000_000;

/** A moving gradient with a square, different in every frame, reusing one buffer like the renderer. */
function paint(frame: Buffer, n: number): void {
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = (y * WIDTH + x) * 3;
      const inSquare = Math.abs(x - 20 - n * 4) < 10 && Math.abs(y - 48) < 10;
      frame[i] = inSquare ? 230 : (x * 2 + n * 5) & 255;
      frame[i + 1] = inSquare ? 40 : (y * 2) & 255;
      frame[i + 2] = inSquare ? 40 : 128;
    }
  }
}

async function record(dir: string, frames = 30): Promise<{ file: string; framesFile: string; result: { frames: number; bytes: number } }> {
  const file = join(dir, 'cam.mkv');
  const framesFile = join(dir, 'cam.frames.jsonl');
  const writer = new VideoWriter({ file, framesFile, width: WIDTH, height: HEIGHT, fps: FPS });
  await writer.start();
  const frame = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let n = 0; n < frames; n++) {
    paint(frame, n);
    await writer.write(frame, START + n * (1000 / FPS));
  }
  return { file, framesFile, result: await writer.finish() };
}

function probe(file: string): Record<string, any> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
  return JSON.parse(out) as Record<string, any>;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('video writer', () => {
  const tempDir = useTempDirs();

  it('encodes every frame at the right size, with one time line per frame', async () => {
    const { file, framesFile, result } = await record(tempDir());
    expect(result.frames).toBe(30);
    expect(result.bytes).toBe(readFileSync(file).length);
    const info = probe(file);
    const video = info.streams[0];
    expect(info.format.format_name).toContain('matroska');
    expect(video).toMatchObject({ codec_name: 'h264', width: WIDTH, height: HEIGHT, pix_fmt: 'yuv420p' });
    expect(Number(video.nb_read_frames)).toBe(30);
    const lines = readFileSync(framesFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number; at: number });
    expect(lines).toHaveLength(30);
    expect(lines[0]).toEqual({ i: 0, at: START });
    expect(lines[29]).toEqual({ i: 29, at: START + 29 * 200 });
  });

  it('puts a keyframe every two seconds', async () => {
    const { file } = await record(tempDir());
    const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    const frames = out.split('\n').filter((l) => /^[01]/.test(l));
    expect(frames).toHaveLength(30);
    const keys = frames.map((l, i) => (l.startsWith('1') ? i : -1)).filter((i) => i >= 0);
    expect(keys).toEqual([0, 10, 20]);
  });

  it('writes byte-identical files for the same frames, without dates or version tags', async () => {
    const a = await record(tempDir());
    const b = await record(tempDir());
    expect(sha256(a.file)).toBe(sha256(b.file));
    expect(sha256(a.framesFile)).toBe(sha256(b.framesFile));
    const info = probe(a.file);
    expect(info.format.tags?.creation_time).toBeUndefined();
    const bytes = readFileSync(a.file).toString('latin1');
    expect(bytes).not.toMatch(/Lav[fc]\d/);
    expect(bytes).not.toContain('x264 - core');
  });

  it('refuses a frame of the wrong size with a clear error, counts it and keeps going', async () => {
    const dir = tempDir();
    const writer = new VideoWriter({ file: join(dir, 'v.mkv'), framesFile: join(dir, 'v.jsonl'), width: WIDTH, height: HEIGHT, fps: FPS });
    await writer.start();
    await expect(writer.write(Buffer.alloc(100), START)).rejects.toThrow(/100 bytes, expected 46080/);
    expect(writer.rejectedFrames).toBe(1);
    const frame = Buffer.alloc(WIDTH * HEIGHT * 3);
    paint(frame, 0);
    await writer.write(frame, START);
    expect((await writer.finish()).frames).toBe(1);
  });

  it('reports a bad output path with ffmpeg’s own explanation', async () => {
    const dir = tempDir();
    const file = join(dir, 'no-such-dir', 'cam.mkv');
    const writer = new VideoWriter({ file, framesFile: join(dir, 'cam.frames.jsonl'), width: WIDTH, height: HEIGHT, fps: FPS });
    await writer.start();
    const frame = Buffer.alloc(WIDTH * HEIGHT * 3);
    const run = async () => {
      for (let n = 0; n < 30; n++) await writer.write(frame, START + n);
      await writer.finish();
    };
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VideoWriterError);
    expect((err as Error).message).toContain('no-such-dir/cam.mkv');
    expect((err as Error).message).toMatch(/No such file or directory/);
  });

  it('says so when ffmpeg cannot be run, and refuses odd frame sizes up front', async () => {
    const dir = tempDir();
    const writer = new VideoWriter({ file: join(dir, 'v.mkv'), framesFile: join(dir, 'v.jsonl'), width: WIDTH, height: HEIGHT, fps: FPS, ffmpegPath: join(dir, 'ffmpeg-missing') });
    await expect(writer.start()).rejects.toThrow(/cannot run .*ffmpeg-missing.*is ffmpeg installed/);
    expect(() => new VideoWriter({ file: 'x.mkv', framesFile: 'x.jsonl', width: 641, height: 360, fps: 5 })).toThrow(/even/);
  });
});
