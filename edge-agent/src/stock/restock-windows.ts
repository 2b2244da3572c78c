/**
 * When staff are filling shelves: started by a staff badge read at a shelf, or by staff on the
 * admin page for a shelf or the whole store, and ending a while after the last sign. Weight put on
 * a shelf then is stock arriving, never a shopper's put-back.
 */
export class RestockWindows {
  private readonly until = new Map<string, { until: number; by: string }>();
  /** Staff standing at the shelf right now (a track known as staff): restocking without a badge. */
  staffAt: ((shelf: string, at: number) => boolean) | undefined;

  /** `shelf` "G.S", or "*" for every shelf. */
  start(shelf: string, until: number, by: string): void {
    const now = this.until.get(shelf);
    if (!now || now.until < until) this.until.set(shelf, { until, by });
  }

  stop(shelf: string): void {
    this.until.delete(shelf);
  }

  active(shelf: string, at: number): boolean {
    const own = this.until.get(shelf);
    const all = this.until.get('*');
    return (own !== undefined && at <= own.until) || (all !== undefined && at <= all.until) || (this.staffAt?.(shelf, at) ?? false);
  }

  list(at: number): { shelf: string; until: number; by: string }[] {
    return [...this.until].filter(([, w]) => w.until >= at).map(([shelf, w]) => ({ shelf, ...w }));
  }
}
