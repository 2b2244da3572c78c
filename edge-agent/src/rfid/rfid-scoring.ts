/**
 * Scores the exit gate against ground truth: each true crossing is matched to the stored passage
 * of the same tag closest in time, and its direction compared; a lingering tag must never leave
 * as "out"; and no serial number may be billable twice.
 */
import type { TruthTagPassage } from '../sim/ground-truth.js';
import type { TagPassage } from './rfid-facts.js';

export interface GateScore {
  crossings: number;
  /** Crossings found with the right direction. */
  correct: number;
  directionAccuracy: number;
  missed: number;
  wrongDirection: number;
  lingers: number;
  /** Lingering tags the agent took for an exit. */
  lingersCalledOut: number;
  /** "out" passages that match no true exit. */
  spuriousExits: number;
  billable: number;
  /** Serial numbers billable more than once (must be 0). */
  doubleBilled: number;
  /** Exits of a tag that had already left once today, and how many of them were (wrongly) billable. */
  repeatExits: number;
  repeatExitsBilled: number;
  confusion: Record<string, number>;
}

const MATCH_MS = 15_000;

export function scoreGate(truth: readonly TruthTagPassage[], stored: readonly TagPassage[]): GateScore {
  const used = new Set<number>();
  const confusion: Record<string, number> = {};
  let crossings = 0;
  let correct = 0;
  let missed = 0;
  let lingers = 0;
  let lingersCalledOut = 0;
  let repeatExits = 0;
  let repeatExitsBilled = 0;
  const exitedBefore = new Set<string>();
  const ordered = [...truth].sort((a, b) => a.at - b.at);
  for (const t of ordered) {
    if (t.direction === 'linger') continue;
    crossings += 1;
    const match = stored
      .filter((p) => !used.has(p.id) && p.epc === t.epc && p.direction !== 'linger' && Math.abs(p.at - t.at) < MATCH_MS)
      .sort((a, b) => Math.abs(a.at - t.at) - Math.abs(b.at - t.at))[0];
    const verdict = match ? match.direction : 'missed';
    confusion[`${t.direction}→${verdict}`] = (confusion[`${t.direction}→${verdict}`] ?? 0) + 1;
    if (!match) missed += 1;
    else {
      used.add(match.id);
      if (match.direction === t.direction) correct += 1;
    }
    if (t.direction === 'out') {
      if (exitedBefore.has(t.epc)) {
        repeatExits += 1;
        if (match?.billable) repeatExitsBilled += 1;
      }
      exitedBefore.add(t.epc);
    }
  }
  // A linger that ends with the shopper walking out is an exit (matched above); a linger is taken
  // out wrongly when an "out" that matches no true exit stands near it.
  for (const t of ordered) {
    if (t.direction !== 'linger') continue;
    lingers += 1;
    if (stored.some((p) => !used.has(p.id) && p.epc === t.epc && p.direction === 'out' && p.at > t.at - 45_000 && p.at < t.at + MATCH_MS)) lingersCalledOut += 1;
  }
  const billableBySerial = new Map<string, number>();
  for (const p of stored) if (p.billable) billableBySerial.set(p.epc, (billableBySerial.get(p.epc) ?? 0) + 1);
  const spuriousExits = stored.filter((p) => p.direction === 'out' && !used.has(p.id)).length;
  return {
    crossings,
    correct,
    directionAccuracy: crossings === 0 ? 1 : correct / crossings,
    missed,
    wrongDirection: crossings - correct - missed,
    lingers,
    lingersCalledOut,
    spuriousExits,
    billable: [...billableBySerial.values()].reduce((a, b) => a + b, 0),
    doubleBilled: [...billableBySerial.values()].filter((n) => n > 1).length,
    repeatExits,
    repeatExitsBilled,
    confusion,
  };
}
