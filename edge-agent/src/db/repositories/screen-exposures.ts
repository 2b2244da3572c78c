import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

export type ScreenTrigger = 'lingering' | 'hesitation' | 'pick' | 'group' | 'idle' | 'cloud';

export interface NewExposure {
  screen: string;
  trigger: ScreenTrigger;
  rule: string | null;
  shopper: string | null;
  zone: string | null;
  products: string[];
  title: string;
  shownAt: number;
  untilAt: number | null;
}

export interface Exposure extends NewExposure {
  id: number;
}

export interface ScreenHour {
  screen: string;
  shown: number;
  byTrigger: Record<string, number>;
  attributedPicks: number;
}

/** Per screen: cards shown and picks attributed to them, triggered versus idle content. */
export interface ScreenUplift {
  screen: string;
  triggered: { exposures: number; attributed: number; perExposure: number };
  idle: { exposures: number; attributed: number; perExposure: number };
  /** Attributed picks per triggered card over those per idle card; null without idle evidence. */
  uplift: number | null;
}

/** Cards shown on shelf screens (facts), the picks attributed to them, and screens' access tokens. */
export class ScreenExposureRepository {
  private readonly insert: Statement;
  private readonly endAt: Statement;
  private readonly attributeRow: Statement;
  private readonly shownIn: Statement;
  private readonly attributedIn: Statement;
  private readonly upliftRows: Statement;
  private readonly tokenOf: Statement;
  private readonly insertToken: Statement;
  private readonly basketRows: Statement;
  private readonly recentOf: Statement;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO screen_exposures (screen, trigger, rule, shopper, zone, products, title, shown_at, until_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.endAt = db.prepare('UPDATE screen_exposures SET until_at = ? WHERE id = ? AND (until_at IS NULL OR until_at > ?)');
    this.attributeRow = db.prepare('INSERT OR IGNORE INTO screen_attributions (exposure_id, screen, product, shopper, picked_at) VALUES (?, ?, ?, ?, ?)');
    this.shownIn = db.prepare('SELECT screen, trigger, COUNT(*) AS n FROM screen_exposures WHERE shown_at >= ? AND shown_at < ? GROUP BY screen, trigger');
    this.attributedIn = db.prepare('SELECT screen, COUNT(*) AS n FROM screen_attributions WHERE picked_at >= ? AND picked_at < ? GROUP BY screen');
    this.upliftRows = db.prepare(
      `SELECT e.screen AS screen, e.trigger IN ('idle', 'cloud') AS idle, COUNT(DISTINCT e.id) AS exposures, COUNT(a.id) AS attributed
       FROM screen_exposures e LEFT JOIN screen_attributions a ON a.exposure_id = e.id
       WHERE e.shown_at >= ? AND e.shown_at < ? AND e.products != '[]'
       GROUP BY e.screen, idle ORDER BY e.screen`,
    );
    this.tokenOf = db.prepare('SELECT token FROM screen_tokens WHERE screen = ?');
    this.insertToken = db.prepare('INSERT OR IGNORE INTO screen_tokens (screen, token, created_at) VALUES (?, ?, ?)');
    this.basketRows = db.prepare(
      "SELECT l.receipt_id AS receipt, l.product AS product FROM receipt_lines l WHERE l.closed_at >= ? AND l.status != 'rejected' AND l.quantity > 0 ORDER BY l.receipt_id",
    );
    this.recentOf = db.prepare('SELECT * FROM screen_exposures WHERE screen = ? ORDER BY id DESC LIMIT ?');
  }

  record(e: NewExposure): number {
    return Number(
      this.insert.run(e.screen, e.trigger, e.rule, e.shopper, e.zone, JSON.stringify(e.products), e.title, Math.round(e.shownAt), e.untilAt === null ? null : Math.round(e.untilAt)).lastInsertRowid,
    );
  }

  /** The card left the screen at `at` (replaced before its planned end, or idle content replaced). */
  ended(id: number, at: number): void {
    this.endAt.run(Math.round(at), id, Math.round(at));
  }

  /** Returns false when this shopper's pick of this product was already attributed to the card. */
  attribute(exposureId: number, screen: string, product: string, shopper: string, at: number): boolean {
    return this.attributeRow.run(exposureId, screen, product, shopper, Math.round(at)).changes === 1;
  }

  /** Cards shown per screen and trigger in [from, to), and picks attributed in it. */
  hour(from: number, to: number): ScreenHour[] {
    const out = new Map<string, ScreenHour>();
    const of = (screen: string) => {
      let h = out.get(screen);
      if (!h) out.set(screen, (h = { screen, shown: 0, byTrigger: {}, attributedPicks: 0 }));
      return h;
    };
    for (const r of this.shownIn.all(from, to) as { screen: string; trigger: string; n: number }[]) {
      const h = of(r.screen);
      h.shown += r.n;
      h.byTrigger[r.trigger] = r.n;
    }
    for (const r of this.attributedIn.all(from, to) as { screen: string; n: number }[]) of(r.screen).attributedPicks = r.n;
    return [...out.values()].sort((a, b) => (a.screen < b.screen ? -1 : 1));
  }

  uplift(from: number, to: number): ScreenUplift[] {
    const by = new Map<string, ScreenUplift>();
    for (const r of this.upliftRows.all(from, to) as { screen: string; idle: number; exposures: number; attributed: number }[]) {
      let u = by.get(r.screen);
      if (!u) by.set(r.screen, (u = { screen: r.screen, triggered: { exposures: 0, attributed: 0, perExposure: 0 }, idle: { exposures: 0, attributed: 0, perExposure: 0 }, uplift: null }));
      const side = r.idle ? u.idle : u.triggered;
      side.exposures = r.exposures;
      side.attributed = r.attributed;
      side.perExposure = r.exposures > 0 ? r.attributed / r.exposures : 0;
    }
    for (const u of by.values()) u.uplift = u.idle.perExposure > 0 ? u.triggered.perExposure / u.idle.perExposure : null;
    return [...by.values()];
  }

  recent(screen: string, limit: number): Exposure[] {
    return (this.recentOf.all(screen, limit) as { id: number; screen: string; trigger: ScreenTrigger; rule: string | null; shopper: string | null; zone: string | null; products: string; title: string; shown_at: number; until_at: number | null }[]).map((r) => ({
      id: r.id,
      screen: r.screen,
      trigger: r.trigger,
      rule: r.rule,
      shopper: r.shopper,
      zone: r.zone,
      products: JSON.parse(r.products) as string[],
      title: r.title,
      shownAt: r.shown_at,
      untilAt: r.until_at,
    }));
  }

  /** The products of each receipt closed since `from` (lines struck off by staff left out). */
  baskets(from: number): string[][] {
    const out: string[][] = [];
    let current = -1;
    for (const r of this.basketRows.iterate(Math.round(from)) as Iterable<{ receipt: number; product: string }>) {
      if (r.receipt !== current) {
        out.push([]);
        current = r.receipt;
      }
      out[out.length - 1]!.push(r.product);
    }
    return out;
  }

  /** The screen's stored token, made on first use for screens whose configuration names no token variable. */
  token(screen: string, at: number): string {
    this.insertToken.run(screen, randomBytes(18).toString('base64url'), Math.round(at));
    return (this.tokenOf.get(screen) as { token: string }).token;
  }
}
