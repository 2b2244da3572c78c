import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalMot } from '../../edge-agent/src/cli/eval-mot.js';
import type { CliIo } from '../../edge-agent/src/cli/output.js';
import type { Detection } from '../../edge-agent/src/vision/detection.js';
import { DEFAULT_BYTE_TRACKER_OPTIONS } from '../../edge-agent/src/vision/track/byte-tracker.js';
import { missingShared, sharedPath } from '../support/shared.js';
import { useTempDirs } from '../support/temp-dir.js';

const PETS = 'data/mot/PETS-S3-MF1';

function collectingIo(): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l) };
}

function lastJson(lines: readonly string[]): Record<string, any> {
  return JSON.parse(lines.at(-1)!) as Record<string, any>;
}

/** A tiny sequence: three numbered frame files, one person walking right, and its detections. */
function tinySequence(dir: string, detLines: string[]): { frames: string; det: string; gt: string } {
  const frames = join(dir, 'img1');
  mkdirSync(frames);
  for (const n of [1, 2, 3]) writeFileSync(join(frames, `${String(n).padStart(6, '0')}.jpg`), '');
  const gt = join(dir, 'gt.txt');
  writeFileSync(gt, ['1,1,100,100,40,100,1,1,1', '2,1,110,100,40,100,1,1,1', '3,1,120,100,40,100,1,1,1', '3,2,400,100,40,100,0,1,1'].join('\n') + '\n');
  const det = join(dir, 'det.txt');
  writeFileSync(det, detLines.join('\n') + '\n');
  return { frames, det, gt };
}

describe('edge-agent eval mot', () => {
  const tempDir = useTempDirs();
  const missing = missingShared(`${PETS}/img/det.txt`, `${PETS}/gt/gt.txt`);

  it.skipIf(missing !== undefined)(`tracks PETS 2009 S3-MF1 from its public detections to the issue's figures ${missing ?? ''}`, async () => {
    const io = collectingIo();
    const files = { frames: sharedPath(PETS, 'img'), det: sharedPath(PETS, 'img/det.txt'), gt: sharedPath(PETS, 'gt/gt.txt') };
    const code = await evalMot(files, io);
    expect(code, io.errLines.join('\n')).toBe(0);
    const result = lastJson(io.outLines);
    // The counts the command reports are those of the files.
    const images = readdirSync(files.frames).filter((n) => n.endsWith('.jpg')).length;
    const gtLines = readFileSync(files.gt, 'utf8').split('\n').filter((l) => l.trim() !== '' && l.split(',')[6] !== '0').length;
    expect(result).toMatchObject({ sequence: 'PETS-S3-MF1', frames: images, gtBoxes: gtLines, fps: 7, fpsSource: 'default' });
    expect(result.MOTA).toBeGreaterThanOrEqual(0.68);
    expect(result.IDF1).toBeGreaterThanOrEqual(0.75);
    expect(result.idSwitches).toBeLessThanOrEqual(3);
    expect(result.tracker.lostBufferSeconds).toBeGreaterThan(0);
    expect(io.errLines.some((l) => l.startsWith('MOTA '))).toBe(true);

    // The detector hook gives the same figures when it finds the same boxes.
    const rows = readFileSync(files.det, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    const detect = async (framePath: string): Promise<Detection[]> => {
      const frame = Number(/(\d+)\.jpg$/.exec(framePath)![1]);
      return rows.filter((r) => r[0] === frame).map((r) => ({ x1: r[2]!, y1: r[3]!, x2: r[2]! + r[4]!, y2: r[3]! + r[5]!, score: r[6]!, classId: 0 }));
    };
    const hooked = collectingIo();
    expect(await evalMot({ frames: files.frames, gt: files.gt, detect }, hooked)).toBe(0);
    expect({ ...lastJson(hooked.outLines), detections: 'file' }).toEqual(result);
  });

  const missingModel = missingShared(`${PETS}/gt/gt.txt`, 'models/yolox_nano_416.onnx');
  it.skipIf(missingModel !== undefined)(`tracks PETS 2009 S3-MF1 with the YOLOX detector run on every frame (--model) ${missingModel ?? ''}`, async () => {
    const io = collectingIo();
    const code = await evalMot({ frames: sharedPath(PETS, 'img'), gt: sharedPath(PETS, 'gt/gt.txt'), model: sharedPath('models/yolox_nano_416.onnx') }, io);
    expect(code, io.errLines.join('\n')).toBe(0);
    const result = lastJson(io.outLines);
    expect(result.detections).toBe('detector');
    // Measured 0.89 / 0.94 / 0 switches: the detector's boxes fit the annotation better than the public ones.
    expect(result.MOTA).toBeGreaterThanOrEqual(0.8);
    expect(result.IDF1).toBeGreaterThanOrEqual(0.85);
    expect(result.idSwitches).toBeLessThanOrEqual(3);
    expect(io.errLines[0]).toMatch(/^detector yolox_nano_416 \(yolox, 416×416\)/);
  });

  it('refuses a model without a manifest with exit 2, naming where it looked', async () => {
    const dir = tempDir();
    const seq = tinySequence(dir, []);
    writeFileSync(join(dir, 'mystery.onnx'), 'not a model');
    const io = collectingIo();
    expect(await evalMot({ frames: seq.frames, gt: seq.gt, model: join(dir, 'mystery.onnx') }, io)).toBe(2);
    expect(io.errLines.join('\n')).toMatch(/mystery\.onnx: no model manifest/);
  });

  it('names the file and line of a garbage detection line and exits 2', async () => {
    const seq = tinySequence(tempDir(), ['1,-1,100,100,40,100,0.9', '2,-1,110,100,40,100,0.9', 'this is not a box', '3,-1,120,100,40,100,0.9']);
    const io = collectingIo();
    expect(await evalMot(seq, io)).toBe(2);
    expect(io.errLines).toHaveLength(1);
    expect(io.errLines[0]).toContain(`${seq.det}:3:`);
    expect(io.outLines).toHaveLength(0);
  });

  it('refuses missing files, boxes on frames without an image and a bad --fps, each with exit 2', async () => {
    const seq = tinySequence(tempDir(), ['1,-1,100,100,40,100,0.9']);
    const cases: [Parameters<typeof evalMot>[0], string][] = [
      [{ ...seq, gt: join(seq.frames, 'nope.txt') }, `${join(seq.frames, 'nope.txt')}: no such file`],
      [{ ...seq, frames: join(seq.frames, 'nowhere') }, 'no such frames folder'],
      [{ ...seq, fps: 0 }, '--fps must be a number > 0'],
      [{ frames: seq.frames, gt: seq.gt }, '--det FILE'],
    ];
    for (const [opts, message] of cases) {
      const io = collectingIo();
      expect(await evalMot(opts, io)).toBe(2);
      expect(io.errLines.join('\n')).toContain(message);
    }
    writeFileSync(seq.det, '1,-1,100,100,40,100,0.9\n9,-1,100,100,40,100,0.9\n');
    const io = collectingIo();
    expect(await evalMot(seq, io)).toBe(2);
    expect(io.errLines[0]).toContain(`${seq.det}:2: frame 9 has no image`);
  });

  it('takes the frame rate from seqinfo.ini and leaves out ground truth marked not to be considered', async () => {
    const dir = tempDir();
    const seq = tinySequence(dir, ['1,-1,100,100,40,100,0.9', '2,-1,110,100,40,100,0.9', '3,-1,120,100,40,100,0.9']);
    writeFileSync(join(dir, 'seqinfo.ini'), '[Sequence]\nname=tiny\nimDir=img1\nframeRate=10\nseqLength=3\n');
    const io = collectingIo();
    expect(await evalMot(seq, io)).toBe(0);
    const result = lastJson(io.outLines);
    expect(result).toMatchObject({ sequence: basename(dir), fps: 10, gtBoxes: 3 });
    expect(result.fpsSource).toBe(join(dir, 'seqinfo.ini'));
    const flagged = collectingIo();
    expect(await evalMot({ ...seq, fps: 25 }, flagged)).toBe(0);
    expect(lastJson(flagged.outLines)).toMatchObject({ fps: 25, fpsSource: '--fps' });
    expect(flagged.errLines.some((l) => l.includes('frameRate=10; using --fps 25'))).toBe(true);
    // Frames before a track is confirmed are misses; after that the walker is tracked.
    expect(result).toMatchObject({ misses: DEFAULT_BYTE_TRACKER_OPTIONS.birthFrames - 1, falsePositives: 0, idSwitches: 0 });
  });
});
