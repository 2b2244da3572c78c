/** A tag seen or gone at a shelf antenna: "gone" is evidence that an item was lifted. */
export interface TagObservation {
  reader: string;
  antenna: number;
  shelf: string | null;
  epc: string;
  gtin: string | null;
  serial: string | null;
  product: string | null;
  kind: 'seen' | 'gone';
  rssi: number | null;
  at: number;
}

/**
 * What happened to a tag passing the exit gate, and what it means for billing:
 * - `billable`: left with a shopper, product known, never billed before — checkout adds it;
 * - `already-billed`: this serial number was billed before (never twice);
 * - `unowned`: left with nobody passing the gate — an alert for staff;
 * - `alert-policy`: the store alerts staff instead of billing;
 * - `unknown-product`: an SGTIN that is in no planogram, or not an SGTIN;
 * - `entered` / `lingered`: came in, or stayed near the gate.
 */
export type PassageOutcome = 'billable' | 'already-billed' | 'unowned' | 'alert-policy' | 'unknown-product' | 'entered' | 'lingered';

export interface TagPassage {
  id: number;
  gate: string;
  epc: string;
  gtin: string | null;
  serial: string | null;
  product: string | null;
  direction: 'out' | 'in' | 'linger';
  firstAt: number;
  lastAt: number;
  at: number;
  confidence: number;
  outcome: PassageOutcome;
  billable: boolean;
  /** The exit pass of the gate the tag left with, when one matched. */
  gateEventId: number | null;
}
