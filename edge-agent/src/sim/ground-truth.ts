/**
 * What the simulator knows really happened, written next to every recording as JSON lines so
 * each later stage (weight events, tracking, dwell, checkout) can be scored against it.
 */
export interface TruthTrackPoint {
  at: number;
  shopper: string;
  x: number;
  y: number;
  /** A member of staff, not a shopper: never to be counted. */
  staff?: true;
}

export interface TruthWeightEvent {
  id: string;
  kind: 'pick' | 'return';
  shopper: string;
  token: string;
  product: string;
  count: number;
  shelf: string;
  /** True change in grams per plate ("G.S.P"). */
  plates: Record<string, number>;
  deltaGrams: number;
  /** First touch and the moment the shelf has settled again. */
  tStart: number;
  tEnd: number;
  /** A return onto a plate the product does not belong to. */
  misplaced: boolean;
}

/** Shelf contact that changes no stock: a reach into an empty facing, a hand resting on the shelf. */
export interface TruthTouch {
  shopper: string;
  plates: string[];
  kind: 'empty-reach' | 'hand-rest';
  tStart: number;
  tEnd: number;
}

export interface TruthGateEvent {
  at: number;
  gate: string;
  kind: 'scan' | 'pass';
  token?: string;
  direction?: 'in' | 'out';
  shopper: string;
}

export interface TruthLine {
  product: string;
  count: number;
}

export interface TruthCart {
  shopper: string;
  token: string;
  party: string;
  enteredAt: number;
  leftAt: number;
  lines: TruthLine[];
}

export interface TruthReceipt {
  token: string;
  party: string;
  shoppers: string[];
  closedAt: number;
  currency: string;
  lines: { product: string; name: string; count: number; unitPrice: number; total: number }[];
  total: number;
}

export interface TruthVisit {
  shopper: string;
  zone: string;
  enteredAt: number;
  exitedAt: number;
  dwellSeconds: number;
}

/** A tagged unit through (or lingering at) the exit gate. */
export interface TruthTagPassage {
  epc: string;
  product: string;
  gate: string;
  direction: 'out' | 'in' | 'linger';
  /** Crossing time (the gate's pass), or the end of the linger. */
  at: number;
  shopper: string;
}

export interface TruthStreams {
  tracks: TruthTrackPoint;
  'weight-events': TruthWeightEvent;
  touches: TruthTouch;
  'gate-events': TruthGateEvent;
  carts: TruthCart;
  receipts: TruthReceipt;
  dwell: TruthVisit;
  'rfid-passages': TruthTagPassage;
}

export type TruthStream = keyof TruthStreams;

export const TRUTH_STREAMS: readonly TruthStream[] = ['tracks', 'weight-events', 'touches', 'gate-events', 'carts', 'receipts', 'dwell', 'rfid-passages'];
