/** What a gate reports: a token scanned (app QR code, card) or a person passing the beam. */
export interface GateReading {
  gate: string;
  kind: 'scan' | 'pass';
  /** For scans: the account token read. */
  token?: string;
  /** For passes: which way the person went. */
  direction?: 'in' | 'out';
  /** The gate controller's own clock (ms), when its protocol sends one. */
  deviceTs?: number;
  /** Store time of reception. */
  at: number;
}

/** A gate reading once it is stored: the fact other components see. */
export interface GateEvent extends GateReading {
  id: number;
}
