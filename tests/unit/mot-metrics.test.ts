import { describe, expect, it } from 'vitest';
import { scoreMot, type MotBox, type MotFrameBoxes } from '../../edge-agent/src/vision/mot/mot-metrics.js';

/** A 100 × 100 box with its left edge at `x`: two of them `d` apart overlap with IoU (100 − d)/(100 + d). */
function box(id: number, x: number, y = 0): MotBox {
  return { id, x1: x, y1: y, x2: x + 100, y2: y + 100 };
}

function frames(count: number, make: (f: number) => MotFrameBoxes): MotFrameBoxes[] {
  return Array.from({ length: count }, (_, f) => make(f));
}

describe('scoreMot', () => {
  it('scores perfect tracking as 1 everywhere', () => {
    const seq = frames(5, (f) => ({ truth: [box(1, f * 10), box(2, 400 - f * 10, 200)], tracks: [box(7, f * 10), box(9, 400 - f * 10, 200)] }));
    const s = scoreMot(seq);
    expect(s).toMatchObject({ gtBoxes: 10, matches: 10, misses: 0, falsePositives: 0, idSwitches: 0, fragmentations: 0, MOTA: 1, MOTP: 1, IDF1: 1, IDP: 1, IDR: 1, precision: 1, recall: 1, mostlyTracked: 2, mostlyLost: 0 });
  });

  it('counts one ID switch once, and IDF1 keeps the longer half', () => {
    // One person for 6 frames; the tracker's id changes after frame 2 and stays changed.
    const seq = frames(6, (f) => ({ truth: [box(1, f * 5)], tracks: [box(f < 2 ? 10 : 11, f * 5 + 2)] }));
    const s = scoreMot(seq);
    expect(s.idSwitches).toBe(1);
    expect(s.MOTA).toBeCloseTo(1 - 1 / 6, 12);
    // Best binding: 1 ↔ 11 over 4 frames; IDF1 = 2·4 / (6 + 6).
    expect(s.IDTP).toBe(4);
    expect(s.IDF1).toBeCloseTo(8 / 12, 12);
    expect(s.IDP).toBeCloseTo(4 / 6, 12);
  });

  it('gives IDF1 0.5 for two tracks that swap people halfway', () => {
    // A walks left to right at y = 0, B right to left at y = 300; tracks 1 and 2 swap after frame 5.
    const seq = frames(10, (f) => {
      const a = box(100, f * 20);
      const b = box(200, 500 - f * 20, 300);
      const onA = f < 5 ? 1 : 2;
      return { truth: [a, b], tracks: [{ ...a, id: onA }, { ...b, id: 3 - onA }] };
    });
    const s = scoreMot(seq);
    expect(s.idSwitches).toBe(2);
    expect(s.MOTA).toBeCloseTo(1 - 2 / 20, 12);
    expect(s.IDTP).toBe(10);
    expect(s.IDF1).toBeCloseTo(0.5, 12);
    expect(s.falsePositives + s.misses).toBe(0);
  });

  it('binds each track id to one person for IDF1', () => {
    // Track 1 follows A (frames 0–5), then B (6–10); track 2 has B for 11–13.
    const seq = frames(14, (f) => (f < 6 ? { truth: [box(1, 0)], tracks: [box(1, 0)] } : { truth: [box(2, 300)], tracks: [box(f <= 10 ? 1 : 2, 300)] }));
    const s = scoreMot(seq);
    // Track 1 cannot count for both: A ↔ 1 (6 frames) and B ↔ 2 (3) beat B ↔ 1 (5) alone.
    expect(s.IDTP).toBe(9);
    expect(s.IDF1).toBeCloseTo(18 / 28, 12);
    expect(s.idSwitches).toBe(1);
  });

  it('counts misses and false positives, and sorts people into mostly tracked and mostly lost', () => {
    // Two people over 4 frames: one always tracked, one never; a ghost box on frames 1 and 2.
    const seq = frames(4, (f) => ({
      truth: [box(1, 0), box(2, 300)],
      tracks: [box(5, 3), ...(f === 1 || f === 2 ? [box(6, 600, 400)] : [])],
    }));
    const s = scoreMot(seq);
    expect(s).toMatchObject({ gtBoxes: 8, trackBoxes: 6, matches: 4, misses: 4, falsePositives: 2, idSwitches: 0, mostlyTracked: 1, mostlyLost: 1, partiallyTracked: 0 });
    expect(s.MOTA).toBeCloseTo(1 - 6 / 8, 12);
    expect(s.precision).toBeCloseTo(4 / 6, 12);
    expect(s.recall).toBeCloseTo(4 / 8, 12);
    expect(s.MOTP).toBeCloseTo(97 / 103, 12);
  });

  it('needs IoU ≥ 0.5 for a match', () => {
    // d = 30 gives IoU 70/130 ≈ 0.54; d = 40 gives 60/140 ≈ 0.43.
    const near = scoreMot([{ truth: [box(1, 0)], tracks: [box(1, 30)] }]);
    expect(near).toMatchObject({ matches: 1, misses: 0, falsePositives: 0 });
    const far = scoreMot([{ truth: [box(1, 0)], tracks: [box(1, 40)] }]);
    expect(far).toMatchObject({ matches: 0, misses: 1, falsePositives: 1, MOTA: -1 });
    expect(scoreMot([{ truth: [box(1, 0)], tracks: [box(1, 40)] }], { iouThreshold: 0.4 }).matches).toBe(1);
  });

  it('keeps the previous frame’s pairing while it still overlaps, even if another track fits better', () => {
    const seq: MotFrameBoxes[] = [
      { truth: [box(1, 0)], tracks: [box(7, 25)] },
      // Track 7 now overlaps at IoU 0.55, track 8 at 0.9: 7 stays matched, 8 is a false positive.
      { truth: [box(1, 0)], tracks: [box(7, 29), box(8, 5)] },
    ];
    const s = scoreMot(seq);
    expect(s).toMatchObject({ matches: 2, idSwitches: 0, falsePositives: 1, IDTP: 2 });
  });

  it('pairs as many as possible before pairing cheaply', () => {
    // Track 1 fits A best (0.9) but also B (0.55); track 2 fits only A (0.6). Both people are matched.
    const a = box(1, 0);
    const b = box(2, 34);
    const s = scoreMot([{ truth: [a, b], tracks: [box(11, 5), box(12, -25)] }]);
    expect(s).toMatchObject({ matches: 2, misses: 0, falsePositives: 0 });
  });

  it('counts a fragmentation for each gap between tracked frames, not for trailing misses', () => {
    // Tracked, tracked, missed, tracked, missed, missed.
    const tracked = [true, true, false, true, false, false];
    const seq = frames(6, (f) => ({ truth: [box(1, 0)], tracks: tracked[f] ? [box(4, 0)] : [] }));
    const s = scoreMot(seq);
    expect(s).toMatchObject({ fragmentations: 1, misses: 3, partiallyTracked: 1, mostlyTracked: 0, mostlyLost: 0 });
    // Matched again by the same track after a gap is not an ID switch.
    expect(s.idSwitches).toBe(0);
  });

  it('refuses duplicate ids and non-finite boxes with the frame named', () => {
    expect(() => scoreMot([{ truth: [], tracks: [] }, { truth: [box(1, 0), box(1, 200)], tracks: [] }])).toThrow(/frame 2: truth id 1 appears twice/);
    expect(() => scoreMot([{ truth: [], tracks: [{ ...box(3, 0), x2: NaN }] }])).toThrow(/frame 1: track box 0/);
  });
});
