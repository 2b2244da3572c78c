/**
 * The native parts of the stack, built or installed by scripts/setup.sh, load and do real work
 * on this machine: a broken set-up fails here with a clear name rather than deep inside a feature.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingShared, sharedPath } from '../support/shared.js';

const require = createRequire(import.meta.url);

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('native dependencies', () => {
  it('OpenCV (system build): background subtraction on a synthetic frame finds the moving square', async () => {
    const cv = require('@u4/opencv4nodejs') as typeof import('@u4/opencv4nodejs');
    const mog2 = new cv.BackgroundSubtractorMOG2(50, 16, false);
    const empty = new cv.Mat(120, 160, cv.CV_8UC1, 0);
    for (let i = 0; i < 30; i++) mog2.apply(empty);
    const withSquare = empty.copy();
    withSquare.drawRectangle(new cv.Rect(60, 40, 30, 30), new cv.Vec3(255, 255, 255), -1);
    const mask = mog2.apply(withSquare);
    const fg = mask.countNonZero();
    expect(fg).toBeGreaterThan(800);
    expect(fg).toBeLessThan(1200);
  });

  it('sharp: encodes and decodes an image', async () => {
    const sharp = (await import('sharp')).default;
    const png = await sharp({ create: { width: 32, height: 16, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 32, height: 16, channels: 3 });
    expect([data[0], data[1], data[2]]).toEqual([255, 0, 0]);
  });

  it('serialport: reads bytes written to a socat pseudo-terminal pair', async () => {
    const { SerialPort } = await import('serialport');
    const dir = mkdtempSync(join(tmpdir(), 'pty-'));
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
    try {
      await waitFor(() => existsSync(a) && existsSync(b));
      const reader = new SerialPort({ path: a, baudRate: 115200 });
      const writer = new SerialPort({ path: b, baudRate: 115200 });
      const received = new Promise<string>((resolve) => reader.on('data', (d: Buffer) => resolve(d.toString())));
      await new Promise<void>((resolve, reject) => writer.on('open', resolve).on('error', reject));
      writer.write('P1 1234\n');
      expect(await received).toBe('P1 1234\n');
      await new Promise((r) => reader.close(r));
      await new Promise((r) => writer.close(r));
    } finally {
      socat.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const modelMissing = missingShared('models/person_detector_192.onnx');
  it.skipIf(modelMissing !== undefined)(`onnxruntime: runs a real detector ${modelMissing ?? ''}`, async () => {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(sharedPath('models/person_detector_192.onnx'));
    expect(session.inputNames).toEqual(['images']);
    const input = new ort.Tensor('float32', new Float32Array(3 * 192 * 192).fill(114), [1, 3, 192, 192]);
    const output = await session.run({ images: input });
    expect(output['output']!.dims).toEqual([1, 756, 6]);
    await session.release();
  });
});
