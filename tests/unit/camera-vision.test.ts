import { describe, expect, it } from 'vitest';
import type { CameraFrame } from '../../edge-agent/src/devices/camera/frame.js';
import { CameraVision, type CameraTracksUpdate, type FrameDetector } from '../../edge-agent/src/vision/camera-vision.js';
import type { Detection } from '../../edge-agent/src/vision/detection.js';
import type { FramePixels, FrameRegion } from '../../edge-agent/src/vision/detect/input-packer.js';
import { MotionGate } from '../../edge-agent/src/vision/motion-gate.js';
import { ByteTracker } from '../../edge-agent/src/vision/track/byte-tracker.js';

const W = 320;
const H = 180;
const STEP_MS = 200;

/** A grey floor with a dark 20 × 50 "shopper" at x (or none), like a camera frame. */
function frameWith(x: number | undefined, seq: number): CameraFrame & { released: number } {
  const data = Buffer.alloc(W * H * 3, 150);
  if (x !== undefined) {
    for (let y = 60; y < 110; y++) for (let c = x; c < x + 20; c++) data.fill(30, (y * W + c) * 3, (y * W + c) * 3 + 3);
  }
  const frame = { camera: 'cam', seq, at: 1_000_000 + seq * STEP_MS, width: W, height: H, data, released: 0, release: () => void frame.released++ };
  return frame;
}

/**
 * The detector for this synthetic scene: it reports the dark block where it lies inside what it
 * was shown, and remembers what it was shown. The pipeline's decisions are what is under test.
 */
class SceneDetector implements FrameDetector {
  readonly calls: (FrameRegion | 'whole')[] = [];
  async detect(frame: FramePixels, region?: FrameRegion): Promise<readonly Detection[]> {
    this.calls.push(region ? { ...region } : 'whole');
    const x0 = region?.x ?? 0;
    const x1 = region ? region.x + region.width : frame.width;
    for (let x = x0; x < x1; x++) {
      if (frame.data[(80 * frame.width + x) * 3] === 30) return [{ x1: x, y1: 60, x2: x + 20, y2: 110, score: 0.9, classId: 0 }];
    }
    return [];
  }
}

describe('CameraVision', () => {
  it('skips the detector on still frames, crops to what starts moving, then detects whole frames while it moves', async () => {
    const detector = new SceneDetector();
    const updates: CameraTracksUpdate[] = [];
    const vision = new CameraVision({
      camera: 'cam',
      detector,
      tracker: new ByteTracker(),
      motion: new MotionGate({ width: W, height: H, warmupFrames: 3 }),
      refreshMs: 60_000,
      onTracks: (u) => void updates.push(u),
    });
    let seq = 0;
    const frames: ReturnType<typeof frameWith>[] = [];
    const run = async (x: number | undefined) => {
      const f = frameWith(x, seq++);
      frames.push(f);
      await vision.process(f);
    };
    // Warm-up and an empty, still floor: the first frame is a whole look, then the gate learns the floor.
    for (let i = 0; i < 30; i++) await run(undefined);
    const stillCalls = detector.calls.length;
    expect(stillCalls).toBeLessThanOrEqual(5);
    expect(updates.slice(10).every((u) => !u.detected)).toBe(true);

    // A shopper appears: the first look is a crop around them, in frame pixels.
    await run(100);
    expect(detector.calls.length).toBe(stillCalls + 1);
    const crop = detector.calls.at(-1)!;
    expect(crop).not.toBe('whole');
    const r = crop as FrameRegion;
    expect(r.x).toBeLessThanOrEqual(100);
    expect(r.x + r.width).toBeGreaterThanOrEqual(120);
    expect(r.width * r.height).toBeLessThan(0.35 * W * H);

    // Walking on: the scene moved on the last frame, so the detector sees the whole frame.
    for (let x = 106; x < 160; x += 6) await run(x);
    expect(detector.calls.slice(stillCalls + 1).every((c) => c === 'whole')).toBe(true);
    const walking = updates.at(-1)!;
    expect(walking.tracks.map((t) => t.state)).toEqual(['confirmed']);
    const id = walking.tracks[0]!.id;

    // Standing still long enough for the gate to stop seeing them: no detection, and they stay tracked.
    const before = detector.calls.length;
    for (let i = 0; i < 25; i++) await run(154);
    const standing = updates.slice(-5);
    expect(standing.every((u) => !u.detected)).toBe(true);
    expect(detector.calls.length - before).toBeLessThan(25);
    expect(standing.at(-1)!.tracks.map((t) => [t.id, t.state])).toEqual([[id, 'confirmed']]);

    // Every frame was handed back exactly once.
    expect(frames.every((f) => f.released === 1)).toBe(true);
    expect(vision.health()).toMatchObject({ frames: frames.length, failedFrames: 0 });
  });

  it('looks at the whole frame when the refresh is due, even with nothing moving', async () => {
    const detector = new SceneDetector();
    const vision = new CameraVision({
      camera: 'cam',
      detector,
      tracker: new ByteTracker(),
      motion: new MotionGate({ width: W, height: H, warmupFrames: 2 }),
      refreshMs: 2000,
      onTracks: () => undefined,
    });
    for (let seq = 0; seq < 40; seq++) await vision.process(frameWith(undefined, seq));
    // 40 frames × 200 ms = 8 s: the warm-up looks, then one whole look every 2 s.
    const whole = detector.calls.filter((c) => c === 'whole').length;
    expect(whole).toBeGreaterThanOrEqual(4);
    expect(whole).toBeLessThanOrEqual(8);
    expect(detector.calls.every((c) => c === 'whole')).toBe(true);
  });

  it('counts a failing detector and still hands the frame back', async () => {
    const failing: FrameDetector = {
      detect: async () => {
        throw new Error('inference worker stopped: exit code 1');
      },
    };
    const vision = new CameraVision({ camera: 'cam', detector: failing, tracker: new ByteTracker(), refreshMs: 0, onTracks: () => undefined });
    const f = frameWith(50, 0);
    await vision.process(f);
    expect(f.released).toBe(1);
    expect(vision.health()).toMatchObject({ frames: 1, failedFrames: 1, lastError: 'inference worker stopped: exit code 1' });
  });
});
