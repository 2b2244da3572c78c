/**
 * Forces on plates that are not goods resting on them: a hand pressing while it grabs, goods
 * knocking and settling after a pick, a hand or elbow left on the shelf. They are what makes a
 * pick look like 1–3 s of disturbed readings before the shelf settles.
 */
export interface Disturbance {
  plate: string;
  start: number;
  end: number;
  /** Grams added at time t (ms). */
  at(t: number): number;
}

/** A hand pressing down: ramps in, wobbles, ramps out. */
export function press(plate: string, start: number, durationMs: number, grams: number, wobbleHz: number): Disturbance {
  const end = start + durationMs;
  const ramp = Math.min(150, durationMs / 3);
  return {
    plate,
    start,
    end,
    at(t) {
      if (t < start || t >= end) return 0;
      const envelope = Math.min(1, (t - start) / ramp, (end - t) / ramp);
      return grams * envelope * (1 + 0.2 * Math.sin((2 * Math.PI * wobbleHz * (t - start)) / 1000));
    },
  };
}

/** Goods rocking after a knock: a damped oscillation. */
export function knock(plate: string, start: number, grams: number, tauMs: number, hz: number): Disturbance {
  const end = start + 5 * tauMs;
  return {
    plate,
    start,
    end,
    at(t) {
      if (t < start || t >= end) return 0;
      const dt = t - start;
      return grams * Math.exp(-dt / tauMs) * Math.sin((2 * Math.PI * hz * dt) / 1000);
    },
  };
}

export class DisturbanceSet {
  private active: Disturbance[] = [];

  add(d: Disturbance): void {
    this.active.push(d);
  }

  /** Sum of disturbances on a plate at time t; forgets the ones that are over. */
  on(plate: string, t: number): number {
    let sum = 0;
    for (const d of this.active) if (d.plate === plate) sum += d.at(t);
    return sum;
  }

  /** True while any disturbance is active on one of the plates. */
  busy(plates: readonly string[], t: number): boolean {
    return this.active.some((d) => plates.includes(d.plate) && t >= d.start && t < d.end);
  }

  prune(t: number): void {
    if (this.active.length > 0) this.active = this.active.filter((d) => d.end > t);
  }
}
