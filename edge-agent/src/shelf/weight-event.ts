/** A product and count that could explain a weight event, with its posterior probability. */
export interface ItemCandidate {
  /** Product id, or null for "none of the products fits". */
  product: string | null;
  count: number;
  probability: number;
  /** The product does not belong on the plates that changed (a misplaced return). */
  misplaced: boolean;
}

/**
 * A change of weight on a shelf once it has settled: which plates changed by how much, and what
 * was most likely taken or put back. Stored as a fact before anything else sees it.
 */
export interface WeightEvent {
  id: number;
  /** "G.S" */
  shelf: string;
  /** Plates whose weight changed ("G.S.P"), left to right. */
  plates: string[];
  /** First disturbed sample and first settled sample, store ms. */
  tStart: number;
  tEnd: number;
  deltaGrams: number;
  /** Change per plate that took part in the event, including plates that moved back to where they were. */
  perPlate: Record<string, number>;
  /** Measurement noise of `deltaGrams` (one sigma, grams). */
  noiseSigma: number;
  kind: 'pick' | 'return';
  candidates: ItemCandidate[];
  /** Why the event deserves less trust: a plate without readings, an event that never settled. */
  flags: string[];
}

export type NewWeightEvent = Omit<WeightEvent, 'id'>;
