/**
 * What a weight event put in (or took out of) whose cart: the joint hypothesis over who did it
 * (association), what it was (the weight event's item candidates) and the other evidence — a
 * shelf tag that went silent during the event makes its product likelier; a put-back is explained
 * from what each shopper holds. The most probable (shopper, product, count) wins; its
 * probability is the line's confidence, so doubt on either side sends it to review.
 */
import type { ItemCandidate, WeightEvent } from '../shelf/weight-event.js';
import type { AssociationCandidate } from './shopper-association.js';

export interface FusionEvidence {
  /** Products whose shelf tags went silent at this shelf during the event. */
  tagsGone: ReadonlyMap<string, number>;
  /**
   * For a put-back: the weight explained from what a session holds (null: someone not known to
   * hold anything), with how likely the weight is under that (see `ItemInference.weigh`).
   */
  returnCandidates(session: number | null): { candidates: ItemCandidate[]; logEvidence: number };
}

export interface FusedLine {
  session: number | null;
  track: string;
  product: string | null;
  count: number;
  misplaced: boolean;
  probability: number;
  associationProbability: number;
  productProbability: number;
  distanceM: number;
  /** The runners-up, for the ledger's evidence. */
  alternatives: { session: number | null; product: string | null; count: number; probability: number }[];
}

/** Likelihood ratio of a product whose tag went silent at the shelf during the event. */
const TAG_GONE_RATIO = 6;

export function fuseWeightEvent(event: Pick<WeightEvent, 'kind' | 'candidates'>, who: readonly AssociationCandidate[], evidence: FusionEvidence): FusedLine | undefined {
  if (who.length === 0) return undefined;
  const candidates: ItemCandidate[] = event.candidates.length > 0 ? event.candidates : [{ product: null, count: 1, probability: 1, misplaced: false }];
  const hyps: { a: AssociationCandidate; c: ItemCandidate; score: number }[] = [];
  let total = 0;
  // A put-back is explained from what each shopper holds: who holds what fits the weight better
  // is likelier to have put it back, and it is likelier one of the things they hold.
  const held = event.kind === 'return' ? who.map((a) => evidence.returnCandidates(a.session)) : undefined;
  const bestEvidence = held ? Math.max(...held.map((h) => h.logEvidence)) : 0;
  who.forEach((a, i) => {
    const own = held?.[i];
    const fit = own ? Math.exp(own.logEvidence - bestEvidence) : 1;
    for (const c of own?.candidates ?? candidates) {
      let score = a.probability * fit * c.probability;
      if (!own && c.product !== null && (evidence.tagsGone.get(c.product) ?? 0) >= 1) score *= TAG_GONE_RATIO;
      hyps.push({ a, c, score });
      total += score;
    }
  });
  // Normalise over the association mass actually placed: an untracked someone keeps their share.
  const assocMass = who.reduce((s, a) => s + a.probability, 0);
  const scale = total > 0 ? assocMass / total : 0;
  hyps.sort((x, y) => y.score - x.score);
  const top = hyps[0]!;
  const marginalOf = (pred: (h: (typeof hyps)[number]) => boolean) => hyps.filter(pred).reduce((s, h) => s + h.score, 0) * scale;
  return {
    session: top.a.session,
    track: top.a.track,
    product: top.c.product,
    count: top.c.count,
    misplaced: top.c.misplaced,
    probability: top.score * scale,
    associationProbability: marginalOf((h) => h.a === top.a),
    productProbability: marginalOf((h) => h.c === top.c) / Math.max(assocMass, 1e-12),
    distanceM: top.a.distanceM,
    alternatives: hyps.slice(1, 4).map((h) => ({ session: h.a.session, product: h.c.product, count: h.c.count, probability: h.score * scale })),
  };
}
