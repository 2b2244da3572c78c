/**
 * Whether a shopper trigger may change a screen now: not in quiet hours, not within the rule's
 * cooldown on that screen, not for a shopper who triggered that rule there recently, and not more
 * often than the screen's changes-per-minute budget. A shop floor full of people must not turn a
 * screen into a strobe.
 */
import type { QuietHoursConfig, SignageConfig, SignageRuleConfig } from '../../../device-config/schema.js';
import { LocalHours } from '../analytics/local-hours.js';

export type Refusal = 'quiet-hours' | 'cooldown' | 'shopper-cooldown' | 'rate';

const MINUTE = 60_000;

export class TriggerGate {
  private readonly lastByRule = new Map<string, number>();
  private readonly lastByShopper = new Map<string, number>();
  private readonly changes = new Map<string, number[]>();
  private readonly hours: LocalHours;

  constructor(
    private readonly signage: SignageConfig,
    timeZone: string,
  ) {
    this.hours = new LocalHours(timeZone);
  }

  /** Admits the trigger (and counts it against the limits) or says why not. */
  admit(screen: string, rule: SignageRuleConfig, shopper: string | null, at: number): Refusal | null {
    if (this.quiet(rule.quietHours ?? this.signage.quietHours, at)) return 'quiet-hours';
    const ruleKey = `${screen}\u0000${rule.id}`;
    const last = this.lastByRule.get(ruleKey);
    if (last !== undefined && at - last < rule.cooldownSeconds * 1000) return 'cooldown';
    const shopperKey = shopper === null ? undefined : `${ruleKey}\u0000${shopper}`;
    const lastShopper = shopperKey === undefined ? undefined : this.lastByShopper.get(shopperKey);
    if (lastShopper !== undefined && at - lastShopper < rule.shopperCooldownSeconds * 1000) return 'shopper-cooldown';
    let recent = this.changes.get(screen);
    if (!recent) this.changes.set(screen, (recent = []));
    while (recent.length > 0 && at - recent[0]! >= MINUTE) recent.shift();
    if (recent.length >= this.signage.maxChangesPerMinute) return 'rate';
    recent.push(at);
    this.lastByRule.set(ruleKey, at);
    if (shopperKey !== undefined) this.lastByShopper.set(shopperKey, at);
    if (this.lastByShopper.size > 10_000) this.forgetOlderThan(at - 86_400_000);
    return null;
  }

  /** Whether `at` falls in one of the daily spans, on the store's wall clock. */
  quiet(spans: readonly QuietHoursConfig[], at: number): boolean {
    if (spans.length === 0) return false;
    const minute = this.hours.minuteOfDay(at);
    return spans.some(({ from, to }) => {
      const a = toMinute(from);
      const b = toMinute(to);
      return a <= b ? minute >= a && minute < b : minute >= a || minute < b;
    });
  }

  private forgetOlderThan(at: number): void {
    for (const [k, t] of this.lastByShopper) if (t < at) this.lastByShopper.delete(k);
  }
}

function toMinute(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}
