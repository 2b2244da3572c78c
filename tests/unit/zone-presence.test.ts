import { describe, expect, it } from 'vitest';
import { PresenceChange, ZonePresence, type ZoneInertia } from '../../edge-agent/src/analytics/zone-presence.js';

const INERTIA: ZoneInertia = { enterObservations: 3, exitMs: 2000 };
const FRAME_MS = 200;
const T0 = 1_800_000_000_000;

/** Feeds (time offset ms, inside) pairs; returns the changes that were not None, with their times. */
function feed(p: ZonePresence, samples: readonly (readonly [number, boolean])[]): { at: number; change: PresenceChange }[] {
  const changes: { at: number; change: PresenceChange }[] = [];
  for (const [dt, inside] of samples) {
    const change = p.observe(T0 + dt, inside, INERTIA);
    if (change !== PresenceChange.None) changes.push({ at: dt, change });
  }
  return changes;
}

/** Observations every 200 ms from `from` (included) to `to` (excluded), all inside or all outside. */
function frames(from: number, to: number, inside: boolean): [number, boolean][] {
  const out: [number, boolean][] = [];
  for (let t = from; t < to; t += FRAME_MS) out.push([t, inside]);
  return out;
}

/** A visit opened: outside at 0 and 200, inside from 400 on (Entered at 800, enteredAt 300). */
function enteredPresence(): ZonePresence {
  const p = new ZonePresence(0);
  feed(p, [...frames(0, 400, false), ...frames(400, 1000, true)]);
  expect(p.inside).toBe(true);
  return p;
}

describe('ZonePresence: entering', () => {
  it('starts a visit only on the third consecutive observation inside', () => {
    const p = new ZonePresence(4);
    expect(p.zone).toBe(4);
    expect(p.observe(T0, false, INERTIA)).toBe(PresenceChange.None);
    expect(p.observe(T0 + 200, false, INERTIA)).toBe(PresenceChange.None);
    expect(p.observe(T0 + 400, true, INERTIA)).toBe(PresenceChange.None);
    expect(p.inside).toBe(false);
    expect(p.observe(T0 + 600, true, INERTIA)).toBe(PresenceChange.None);
    expect(p.inside).toBe(false);
    expect(Number.isNaN(p.enteredAt)).toBe(true);
    expect(p.observe(T0 + 800, true, INERTIA)).toBe(PresenceChange.Entered);
    expect(p.inside).toBe(true);
    // Halfway between the last outside observation (200) and the first inside one (400).
    expect(p.enteredAt).toBe(T0 + 300);
    // Further insides change nothing.
    expect(p.observe(T0 + 1000, true, INERTIA)).toBe(PresenceChange.None);
    expect(p.enteredAt).toBe(T0 + 300);
  });

  it('places the start at the first observation when the shopper was never seen outside', () => {
    const p = new ZonePresence(0);
    expect(feed(p, frames(0, 600, true))).toEqual([{ at: 400, change: PresenceChange.Entered }]);
    expect(p.enteredAt).toBe(T0);
  });

  it('honours another enterObservations setting', () => {
    const p = new ZonePresence(0);
    const changes: PresenceChange[] = [];
    for (const [dt, inside] of [...frames(0, 200, false), ...frames(200, 1200, true)]) {
      changes.push(p.observe(T0 + dt, inside, { enterObservations: 5, exitMs: 2000 }));
    }
    expect(changes.indexOf(PresenceChange.Entered)).toBe(5); // observation at 1000 = 5th inside
    expect(p.enteredAt).toBe(T0 + 100);
  });

  it('opens no visit for fewer than three insides followed by an outside', () => {
    const p = new ZonePresence(0);
    const changes = feed(p, [
      [0, false],
      [200, true],
      [400, true],
      [600, false],
      [800, true],
      [1000, false],
      ...frames(1200, 4000, false),
    ]);
    expect(changes).toEqual([]);
    expect(p.inside).toBe(false);
    expect(Number.isNaN(p.enteredAt)).toBe(true);
    expect(p.end()).toBe(false);
  });

  it('starts counting again after a broken run: the start is placed at the new run', () => {
    const p = new ZonePresence(0);
    const changes = feed(p, [
      [0, false],
      [200, true],
      [400, true],
      [600, false],
      [800, true],
      [1000, true],
      [1200, true],
    ]);
    expect(changes).toEqual([{ at: 1200, change: PresenceChange.Entered }]);
    expect(p.enteredAt).toBe(T0 + 700);
  });

  it('counts observations, not time: a gap between insides does not break the run', () => {
    const p = new ZonePresence(0);
    const changes = feed(p, [
      [0, false],
      [200, true],
      [3000, true],
      [3200, true],
    ]);
    expect(changes).toEqual([{ at: 3200, change: PresenceChange.Entered }]);
    expect(p.enteredAt).toBe(T0 + 100);
  });

  it('resets picks and lingering when a new visit starts', () => {
    const p = enteredPresence();
    p.picks = 2;
    p.lingered = true;
    feed(p, frames(1000, 4000, false));
    expect(p.inside).toBe(false);
    feed(p, frames(4000, 4600, true));
    expect(p.inside).toBe(true);
    expect(p.picks).toBe(0);
    expect(p.lingered).toBe(false);
  });
});

describe('ZonePresence: staying and leaving', () => {
  it('never ends or splits a visit for a single outside observation', () => {
    const p = enteredPresence();
    const changes = feed(p, [...frames(1000, 2000, true), [2000, false], ...frames(2200, 5000, true), [5000, false], ...frames(5200, 8000, true)]);
    expect(changes).toEqual([]);
    expect(p.inside).toBe(true);
    expect(p.enteredAt).toBe(T0 + 300);
    expect(Number.isNaN(p.exitedAt)).toBe(true);
  });

  it('never ends a visit for a gap without observations', () => {
    const p = enteredPresence();
    // 30 s without any observation, then inside again.
    expect(feed(p, [[31_000, true], [31_200, true]])).toEqual([]);
    expect(p.inside).toBe(true);
    expect(p.enteredAt).toBe(T0 + 300);
  });

  it('does not end a visit while the shopper has been outside less than 2 s (flicker over the border)', () => {
    const p = enteredPresence();
    // Last inside at 800; outside 1000..2800: measured from 900 that is 1.9 s.
    expect(feed(p, frames(1000, 3000, false))).toEqual([]);
    expect(p.inside).toBe(true);
    // Back inside: the clock starts again from the next step out.
    expect(feed(p, frames(3000, 3400, true))).toEqual([]);
    // Last inside 3200; outside from 3400, so gone from 3300: exits at the first observation ≥ 5300.
    const changes = feed(p, frames(3400, 6000, false));
    expect(changes).toEqual([{ at: 5400, change: PresenceChange.Exited }]);
    expect(p.inside).toBe(false);
    expect(p.exitedAt).toBe(T0 + 3300);
    expect(p.enteredAt).toBe(T0 + 300);
  });

  it('ends a visit once the shopper has been outside 2 s from the halfway point, with exitedAt that point', () => {
    const p = enteredPresence();
    feed(p, frames(1000, 4200, true)); // last inside at 4000
    const changes = feed(p, frames(4200, 8000, false));
    // Halfway between 4000 and 4200 is 4100; 6000 − 4100 < 2000, 6200 − 4100 ≥ 2000.
    expect(changes).toEqual([{ at: 6200, change: PresenceChange.Exited }]);
    expect(p.exitedAt).toBe(T0 + 4100);
    expect(p.enteredAt).toBe(T0 + 300);
  });

  it('ends a visit at exactly 2 s outside', () => {
    const p = enteredPresence();
    feed(p, [[4000, true]]);
    // First outside at 4400: gone from 4200; 6200 − 4200 = 2000 exactly.
    expect(feed(p, [[4400, false], [6000, false]])).toEqual([]);
    expect(p.inside).toBe(true);
    expect(p.observe(T0 + 6200, false, INERTIA)).toBe(PresenceChange.Exited);
    expect(p.exitedAt).toBe(T0 + 4200);
  });

  it('measures the 2 s from the halfway point even across a gap', () => {
    const p = enteredPresence();
    feed(p, [[1000, true]]);
    // Next observation 5 s later and outside: the shopper left around 3500 and is gone by 5500.
    expect(p.observe(T0 + 6000, false, INERTIA)).toBe(PresenceChange.Exited);
    expect(p.exitedAt).toBe(T0 + 3500);
  });

  it('starts the next visit halfway between the last outside and the first inside observation', () => {
    const p = enteredPresence();
    feed(p, [[1000, true], ...frames(1200, 5000, false)]);
    expect(p.inside).toBe(false);
    const first = { enteredAt: p.enteredAt, exitedAt: p.exitedAt };
    expect(first).toEqual({ enteredAt: T0 + 300, exitedAt: T0 + 1100 });
    expect(feed(p, frames(5000, 5600, true))).toEqual([{ at: 5400, change: PresenceChange.Entered }]);
    expect(p.enteredAt).toBe(T0 + 4900);
    expect(p.enteredAt).toBeGreaterThan(first.exitedAt);
  });
});

describe('ZonePresence: end of the track', () => {
  it('closes an open visit at the last inside observation', () => {
    const p = enteredPresence();
    feed(p, frames(1000, 3200, true)); // last inside at 3000
    expect(p.end()).toBe(true);
    expect(p.inside).toBe(false);
    expect(p.enteredAt).toBe(T0 + 300);
    expect(p.exitedAt).toBe(T0 + 3000);
    expect(p.end()).toBe(false);
  });

  it('closes at the halfway exit point when the shopper was already outside', () => {
    const p = enteredPresence();
    feed(p, [...frames(1000, 3200, true), [3200, false], [3400, false]]);
    expect(p.inside).toBe(true);
    expect(p.end()).toBe(true);
    expect(p.exitedAt).toBe(T0 + 3100);
  });

  it('returns false when no visit is open', () => {
    const never = new ZonePresence(0);
    expect(never.end()).toBe(false);
    expect(Number.isNaN(never.exitedAt)).toBe(true);

    const partial = new ZonePresence(0);
    feed(partial, [[0, true], [200, true]]);
    expect(partial.end()).toBe(false);

    const closed = enteredPresence();
    feed(closed, frames(1000, 4000, false));
    expect(closed.inside).toBe(false);
    const exitedAt = closed.exitedAt;
    expect(closed.end()).toBe(false);
    expect(closed.exitedAt).toBe(exitedAt);
  });
});
