/**
 * Who could have caused a weight event: every shopper whose track came within reach of the
 * plates that changed while the shelf was disturbed, with the likelihood of their closest
 * approach under a Gaussian of where people stand to reach a plate. Sessions compete with the
 * tracks nobody pays for (a tailgater, an unbound track), so a crowded shelf lowers the confidence
 * instead of billing a bystander.
 */
import type { CheckoutConfig } from '../../../device-config/schema.js';
import type { WeightEvent } from '../shelf/weight-event.js';
import type { StoreLayout, Vec2 } from '../sim/store-layout.js';
import type { FloorHistory } from './floor-history.js';

export interface Participant {
  /** The session the tracks belong to, or null for a track bound to nobody. */
  session: number | null;
  tracks: readonly string[];
}

export interface AssociationCandidate {
  session: number | null;
  track: string;
  distanceM: number;
  /** Unnormalised: exp(-d²/2σ²). */
  likelihood: number;
  /** Normalised over the candidates and an untracked someone at the edge of reach. */
  probability: number;
}

/** The disturbance starts with the hand on the goods; the shopper may already be turning away when it settles. */
const BEFORE_MS = 1_000;
const AFTER_MS = 500;
/** A track with no point in the window is placed by its nearest point this close in time. */
const SLACK_MS = 2_000;

/** Where a shopper stands to reach the plates that changed, weighted by how much each changed. */
export function reachPlace(layout: StoreLayout, event: Pick<WeightEvent, 'plates' | 'perPlate'>): Vec2 | undefined {
  let x = 0;
  let y = 0;
  let w = 0;
  for (const key of event.plates) {
    const plate = layout.plates.get(key);
    if (!plate) continue;
    const weight = Math.max(1, Math.abs(event.perPlate[key] ?? 0));
    x += plate.standAt.x * weight;
    y += plate.standAt.y * weight;
    w += weight;
  }
  return w > 0 ? { x: x / w, y: y / w } : undefined;
}

export function associate(
  event: Pick<WeightEvent, 'tStart' | 'tEnd'>,
  place: Vec2,
  participants: readonly Participant[],
  history: FloorHistory,
  settings: Pick<CheckoutConfig, 'reachM' | 'reachSigmaM'>,
): AssociationCandidate[] {
  const out: AssociationCandidate[] = [];
  const twoSigma2 = 2 * settings.reachSigmaM * settings.reachSigmaM;
  for (const p of participants) {
    let best: { track: string; distance: number } | undefined;
    for (const track of p.tracks) {
      const approach = history.meanDistance(track, place, event.tStart - BEFORE_MS, event.tEnd + AFTER_MS, SLACK_MS);
      if (approach && (!best || approach.distance < best.distance)) best = { track, distance: approach.distance };
    }
    if (!best || best.distance > settings.reachM) continue;
    out.push({ session: p.session, track: best.track, distanceM: best.distance, likelihood: Math.exp(-(best.distance * best.distance) / twoSigma2), probability: 0 });
  }
  // Someone no camera tracked, standing exactly at the edge of reach: a lone track far away is not certain.
  let total = Math.exp(-(settings.reachM * settings.reachM) / twoSigma2);
  for (const c of out) total += c.likelihood;
  for (const c of out) c.probability = total > 0 ? c.likelihood / total : 0;
  return out.sort((a, b) => b.probability - a.probability || a.distanceM - b.distanceM);
}
