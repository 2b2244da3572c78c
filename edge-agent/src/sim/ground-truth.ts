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
  /** Units staff put on the shelf when restocking (`kind` is 'return', `shopper` the member of staff). */
  restock?: true;
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

/**
 * Units of one facing — a product on a plate, each unit counted on the plate under its centre; a
 * misplaced unit counts on the plate it lies on under its own product. Lines without `cause` are
 * the start of the day and the snapshot of every facing each 10 s; lines with one are changes, at
 * the instant the units left or reached the plate (the lift of a pick, the release of a put).
 */
export interface TruthStock {
  at: number;
  plate: string;
  product: string;
  units: number;
  cause?: 'pick' | 'put-back' | 'misplace' | 'restock';
}

/** One visit of staff restocking a facing: from their arrival at the shelf to the settle of their last put. */
export interface TruthRestock {
  at: number;
  end: number;
  shelf: string;
  plate: string;
  product: string;
  /** Units put on the shelf. */
  units: number;
  staff: string;
  /** EPC of the staff badge they carry. */
  badge: string;
}

/**
 * Faults of the stock the agent should notice: a facing emptied (at the settle of the pick that
 * emptied it, or the start of the day), a unit left where its product does not belong (at the
 * settle of the put), a plate drifting far more than the rest (once, at the start of the day).
 */
export interface TruthStockFault {
  at: number;
  kind: 'out-of-stock' | 'misplaced' | 'drift';
  plate: string;
  product?: string;
  detail?: string;
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
  stock: TruthStock;
  restocks: TruthRestock;
  'stock-faults': TruthStockFault;
}

export type TruthStream = keyof TruthStreams;

export const TRUTH_STREAMS: readonly TruthStream[] = ['tracks', 'weight-events', 'touches', 'gate-events', 'carts', 'receipts', 'dwell', 'rfid-passages'];

/** Written only on days with stock knobs (or `stockTruth`), so older days record as before. */
export const STOCK_TRUTH_STREAMS: readonly TruthStream[] = ['stock', 'restocks', 'stock-faults'];
