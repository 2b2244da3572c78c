/**
 * Hours of the store's own clock (its IANA time zone), as UTC millisecond ranges: hourly tables
 * are bucketed by the hour a shopkeeper reads on the wall, which is not always a UTC hour.
 */
const HOUR_MS = 3_600_000;

export class LocalHours {
  private readonly format: Intl.DateTimeFormat;
  private cachedStart = Number.NaN;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** Start of the local hour holding `at` (ms since the epoch). */
  startOf(at: number): number {
    if (at >= this.cachedStart && at < this.cachedStart + HOUR_MS) return this.cachedStart;
    const parts = this.parts(at);
    const ms = ((at % 1000) + 1000) % 1000;
    this.cachedStart = at - (parts.minute * 60 + parts.second) * 1000 - ms;
    return this.cachedStart;
  }

  /** Every hour start from the hour of `from` up to the one holding `to` (inclusive). */
  hoursBetween(from: number, to: number): number[] {
    const hours: number[] = [];
    for (let h = this.startOf(from); h <= to; h += HOUR_MS) hours.push(h);
    return hours;
  }

  /** Every hour start any of the spans reaches into. */
  hoursCovering(spans: readonly { from: number; to: number }[]): Set<number> {
    const out = new Set<number>();
    for (const { from, to } of spans) for (const h of this.hoursBetween(from, to)) out.add(h);
    return out;
  }

  /** "2026-11-02 10:00" on the store's wall clock. */
  label(hourStart: number): string {
    const p = this.parts(hourStart);
    return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
  }

  /** Start of the local day holding `at` (its first hour on the wall clock). */
  startOfDay(at: number): number {
    return this.dayRange(this.label(this.startOf(at)).slice(0, 10))!.from;
  }

  /** The local day `YYYY-MM-DD` as a [from, to) range of ms, or undefined when there is no such date. */
  dayRange(day: string): { from: number; to: number } | undefined {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    const midnightUtc = Date.UTC(y, m - 1, d);
    if (!Number.isFinite(midnightUtc) || new Date(midnightUtc).toISOString().slice(0, 10) !== day) return undefined;
    const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
    // The first local hour carrying the date: midnight, or later when a clock change skips it.
    const first = (label: string, around: number) => {
      for (let t = around - 15 * HOUR_MS; t <= around + 15 * HOUR_MS; t += HOUR_MS) {
        const start = this.startOf(t);
        if (this.label(start).startsWith(label)) return start;
      }
      return around;
    };
    return { from: first(day, midnightUtc), to: first(next, midnightUtc + 24 * HOUR_MS) };
  }

  /** Minutes since local midnight on the store's wall clock (quiet hours, opening times). */
  minuteOfDay(at: number): number {
    const p = this.parts(at);
    return p.hour * 60 + p.minute;
  }

  private parts(at: number): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number> {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of this.format.formatToParts(at)) {
      if (part.type in out) out[part.type as keyof typeof out] = Number(part.value);
    }
    return out;
  }
}

export const HOUR = HOUR_MS;

const pad = (n: number): string => String(n).padStart(2, '0');
