/** Staff badge tags, by the EPC prefixes of `analytics.staffBadges`. */
export class StaffBadges {
  private readonly prefixes: string[];

  constructor(prefixes: readonly string[]) {
    this.prefixes = prefixes.map((p) => p.toUpperCase());
  }

  matches(epc: string): boolean {
    const upper = epc.toUpperCase();
    return this.prefixes.some((p) => upper.startsWith(p));
  }
}
