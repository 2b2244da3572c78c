/**
 * One shopper in one zone, with inertia: a visit starts only after N consecutive observations
 * inside and ends only after T seconds outside, so a missed detection or a position that flickers
 * over the border never splits a visit. Times are placed halfway between the observations either
 * side of a crossing, which makes dwell unbiased at any frame rate.
 */
export interface ZoneInertia {
  enterObservations: number;
  exitMs: number;
}

export const PresenceChange = { None: 0, Entered: 1, Exited: 2 } as const;
export type PresenceChange = (typeof PresenceChange)[keyof typeof PresenceChange];

const OUT = 0;
const IN = 1;

export class ZonePresence {
  private state = OUT;
  private run = 0;
  private runStart = Number.NaN;
  private lastOutsideAt = Number.NaN;
  private lastInsideAt = Number.NaN;
  /** Estimated moment the shopper stepped out, while outside and not yet gone for good. */
  private leftAt = Number.NaN;
  /** Start of the open visit, or of the last closed one. */
  enteredAt = Number.NaN;
  /** End of the last closed visit. */
  exitedAt = Number.NaN;
  picks = 0;
  lingered = false;

  constructor(readonly zone: number) {}

  get inside(): boolean {
    return this.state === IN;
  }

  observe(at: number, inside: boolean, inertia: ZoneInertia): PresenceChange {
    if (this.state === OUT) {
      if (!inside) {
        this.run = 0;
        this.lastOutsideAt = at;
        return PresenceChange.None;
      }
      this.run += 1;
      if (this.run === 1) this.runStart = Number.isNaN(this.lastOutsideAt) ? at : (this.lastOutsideAt + at) / 2;
      this.lastInsideAt = at;
      if (this.run < inertia.enterObservations) return PresenceChange.None;
      this.state = IN;
      this.enteredAt = this.runStart;
      this.leftAt = Number.NaN;
      this.picks = 0;
      this.lingered = false;
      return PresenceChange.Entered;
    }
    if (inside) {
      this.lastInsideAt = at;
      this.leftAt = Number.NaN;
      return PresenceChange.None;
    }
    if (Number.isNaN(this.leftAt)) this.leftAt = (this.lastInsideAt + at) / 2;
    this.lastOutsideAt = at;
    if (at - this.leftAt < inertia.exitMs) return PresenceChange.None;
    this.close(this.leftAt);
    return PresenceChange.Exited;
  }

  /** The track ended: an open visit ends where the shopper was last seen inside. */
  end(): boolean {
    if (this.state !== IN) return false;
    this.close(Number.isNaN(this.leftAt) ? this.lastInsideAt : this.leftAt);
    return true;
  }

  private close(at: number): void {
    this.state = OUT;
    this.exitedAt = at;
    this.run = 0;
    this.leftAt = Number.NaN;
  }
}
