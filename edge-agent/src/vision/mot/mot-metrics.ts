/**
 * CLEAR MOT (Bernardin & Stiefelhagen 2008) and identity metrics (Ristani et al. 2016) of a
 * tracker's boxes against ground truth, computed the way py-motmetrics computes them so figures
 * compare with published ones:
 *
 * - Per frame, a ground-truth object matched to a track on the previous frame stays matched to it
 *   while their IoU reaches the threshold; the rest are paired by a minimum-cost assignment on
 *   1 − IoU over pairs with IoU ≥ threshold (as many pairs as possible, then the cheapest).
 * - An ID switch is a ground-truth object matched to a different track than at its last match.
 * - MOTA = 1 − (misses + false positives + ID switches) / ground-truth boxes.
 * - MOTP here is the mean IoU of matched pairs (higher is better); py-motmetrics prints the mean
 *   distance 1 − IoU, which is 1 − this.
 * - Mostly tracked: matched on ≥ 80 % of the frames the object is in; mostly lost: < 20 %.
 *   A fragmentation is a run of misses between two matched frames of one object.
 * - IDF1/IDP/IDR: each ground-truth id is bound to at most one track id for the whole sequence by
 *   the assignment that maximises the frames they overlap (IoU ≥ threshold); IDTP counts those
 *   frames.
 */
import munkres from 'munkres';
import { iou } from '../detection.js';

export interface MotBox {
  id: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** One frame: its ground-truth boxes and the tracker's boxes, each with its id. */
export interface MotFrameBoxes {
  truth: readonly MotBox[];
  tracks: readonly MotBox[];
}

export interface MotScore {
  frames: number;
  gtBoxes: number;
  trackBoxes: number;
  gtIds: number;
  trackIds: number;
  matches: number;
  misses: number;
  falsePositives: number;
  idSwitches: number;
  fragmentations: number;
  MOTA: number;
  /** Mean IoU of matched pairs. */
  MOTP: number;
  precision: number;
  recall: number;
  mostlyTracked: number;
  partiallyTracked: number;
  mostlyLost: number;
  IDTP: number;
  IDFP: number;
  IDFN: number;
  IDF1: number;
  IDP: number;
  IDR: number;
}

export const DEFAULT_MOT_IOU_THRESHOLD = 0.5;

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : NaN;
}

interface TruthHistory {
  present: number;
  matched: number;
  /** Track id at the object's last match, and the frame index of that match. */
  lastTrack: number | undefined;
  lastMatchFrame: number;
  everMatched: boolean;
  missingSinceMatch: boolean;
  fragmentations: number;
}

function checkIds(boxes: readonly MotBox[], what: string, frame: number): void {
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]!;
    if (![b.id, b.x1, b.y1, b.x2, b.y2].every(Number.isFinite)) throw new RangeError(`frame ${frame + 1}: ${what} box ${i} has a value that is not a finite number`);
    for (let j = 0; j < i; j++) if (boxes[j]!.id === b.id) throw new RangeError(`frame ${frame + 1}: ${what} id ${b.id} appears twice`);
  }
}

/** Scores a whole sequence, frames in order. Throws a RangeError naming the frame for duplicate ids or non-finite boxes. */
export function scoreMot(frames: readonly MotFrameBoxes[], options: { iouThreshold?: number } = {}): MotScore {
  const threshold = options.iouThreshold ?? DEFAULT_MOT_IOU_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`iouThreshold must be in (0, 1], got ${threshold}`);
  const truthHistory = new Map<number, TruthHistory>();
  const trackFrames = new Map<number, number>();
  const overlapFrames = new Map<number, Map<number, number>>();
  let gtBoxes = 0;
  let trackBoxes = 0;
  let matches = 0;
  let idSwitches = 0;
  let iouSum = 0;

  for (let f = 0; f < frames.length; f++) {
    const { truth, tracks } = frames[f]!;
    checkIds(truth, 'truth', f);
    checkIds(tracks, 'track', f);
    gtBoxes += truth.length;
    trackBoxes += tracks.length;
    for (const t of tracks) trackFrames.set(t.id, (trackFrames.get(t.id) ?? 0) + 1);

    const ious = truth.map((g) => tracks.map((t) => iou(g, t)));
    const truthMatched = new Array<boolean>(truth.length).fill(false);
    const trackMatched = new Array<boolean>(tracks.length).fill(false);
    const histories = truth.map((g) => {
      let h = truthHistory.get(g.id);
      if (!h) {
        h = { present: 0, matched: 0, lastTrack: undefined, lastMatchFrame: -1, everMatched: false, missingSinceMatch: false, fragmentations: 0 };
        truthHistory.set(g.id, h);
      }
      h.present++;
      return h;
    });

    for (let i = 0; i < truth.length; i++) {
      const row = ious[i]!;
      let pairs = overlapFrames.get(truth[i]!.id);
      for (let j = 0; j < tracks.length; j++) {
        if (row[j]! < threshold) continue;
        if (!pairs) overlapFrames.set(truth[i]!.id, (pairs = new Map()));
        pairs.set(tracks[j]!.id, (pairs.get(tracks[j]!.id) ?? 0) + 1);
      }
    }

    const match = (i: number, j: number): void => {
      const h = histories[i]!;
      if (h.lastTrack !== undefined && h.lastTrack !== tracks[j]!.id) idSwitches++;
      if (h.missingSinceMatch) h.fragmentations++;
      h.lastTrack = tracks[j]!.id;
      h.lastMatchFrame = f;
      h.matched++;
      h.everMatched = true;
      h.missingSinceMatch = false;
      truthMatched[i] = true;
      trackMatched[j] = true;
      matches++;
      iouSum += ious[i]![j]!;
    };

    // Correspondences of the previous frame hold while they still overlap enough.
    for (let i = 0; i < truth.length; i++) {
      const h = histories[i]!;
      if (h.lastMatchFrame !== f - 1 || h.lastTrack === undefined) continue;
      const j = tracks.findIndex((t, k) => !trackMatched[k] && t.id === h.lastTrack);
      if (j >= 0 && ious[i]![j]! >= threshold) match(i, j);
    }

    const rows: number[] = [];
    const cols: number[] = [];
    for (let i = 0; i < truth.length; i++) if (!truthMatched[i]) rows.push(i);
    for (let j = 0; j < tracks.length; j++) if (!trackMatched[j]) cols.push(j);
    let maxCost = -1;
    for (const i of rows) for (const j of cols) if (ious[i]![j]! >= threshold) maxCost = Math.max(maxCost, 1 - ious[i]![j]!);
    if (maxCost >= 0) {
      // The same stand-in for "cannot pair" as py-motmetrics, so a pair is never given up for a cheaper one.
      const forbidden = 2 * maxCost + 1;
      const costs = rows.map((i) => cols.map((j) => (ious[i]![j]! >= threshold ? 1 - ious[i]![j]! : forbidden)));
      for (const [r, c] of munkres(costs)) {
        const i = rows[r]!;
        const j = cols[c]!;
        if (ious[i]![j]! >= threshold) match(i, j);
      }
    }

    for (let i = 0; i < truth.length; i++) if (!truthMatched[i] && histories[i]!.everMatched) histories[i]!.missingSinceMatch = true;
  }

  let misses = 0;
  let fragmentations = 0;
  let mostlyTracked = 0;
  let mostlyLost = 0;
  for (const h of truthHistory.values()) {
    misses += h.present - h.matched;
    fragmentations += h.fragmentations;
    const tracked = h.matched / h.present;
    if (tracked >= 0.8) mostlyTracked++;
    else if (tracked < 0.2) mostlyLost++;
  }
  const falsePositives = trackBoxes - matches;
  const IDTP = identityTruePositives(overlapFrames);

  return {
    frames: frames.length,
    gtBoxes,
    trackBoxes,
    gtIds: truthHistory.size,
    trackIds: trackFrames.size,
    matches,
    misses,
    falsePositives,
    idSwitches,
    fragmentations,
    MOTA: gtBoxes > 0 ? 1 - (misses + falsePositives + idSwitches) / gtBoxes : NaN,
    MOTP: ratio(iouSum, matches),
    precision: ratio(matches, trackBoxes),
    recall: ratio(matches, gtBoxes),
    mostlyTracked,
    partiallyTracked: truthHistory.size - mostlyTracked - mostlyLost,
    mostlyLost,
    IDTP,
    IDFP: trackBoxes - IDTP,
    IDFN: gtBoxes - IDTP,
    IDF1: ratio(2 * IDTP, gtBoxes + trackBoxes),
    IDP: ratio(IDTP, trackBoxes),
    IDR: ratio(IDTP, gtBoxes),
  };
}

/**
 * The most frames that one-to-one pairs of (truth id, track id) can share. Minimising IDFP + IDFN
 * over bindings with unbound ids allowed (Ristani's bipartite graph with its dummy nodes) comes to
 * the same thing, since IDFP + IDFN = boxes − 2 × IDTP.
 */
function identityTruePositives(overlapFrames: ReadonlyMap<number, ReadonlyMap<number, number>>): number {
  const truthIds = [...overlapFrames.keys()];
  if (truthIds.length === 0) return 0;
  const trackIndex = new Map<number, number>();
  let most = 0;
  for (const pairs of overlapFrames.values())
    for (const [track, n] of pairs) {
      if (!trackIndex.has(track)) trackIndex.set(track, trackIndex.size);
      most = Math.max(most, n);
    }
  const shared = truthIds.map(() => new Array<number>(trackIndex.size).fill(0));
  truthIds.forEach((t, r) => {
    for (const [track, n] of overlapFrames.get(t)!) shared[r]![trackIndex.get(track)!] = n;
  });
  let idtp = 0;
  for (const [r, c] of munkres(shared.map((row) => row.map((n) => most - n)))) idtp += shared[r]![c]!;
  return idtp;
}
