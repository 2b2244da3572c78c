import type { Database, Statement } from 'better-sqlite3';

export interface ScreenContent {
  products: string[];
  title?: string;
  message?: string;
}

export interface StoredScreenContent extends ScreenContent {
  screen: string;
  setAt: number;
  expiresAt: number | null;
}

/** Content the cloud set for shelf screens: one current entry per screen, until it expires. */
export class ScreenContentRepository {
  private readonly upsert: Statement;
  private readonly clear: Statement;
  private readonly current: Statement;

  constructor(db: Database) {
    this.upsert = db.prepare(
      'INSERT INTO screen_content (screen, content, set_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (screen) DO UPDATE SET content = excluded.content, set_at = excluded.set_at, expires_at = excluded.expires_at',
    );
    this.clear = db.prepare('DELETE FROM screen_content WHERE screen = ?');
    this.current = db.prepare('SELECT screen, content, set_at AS setAt, expires_at AS expiresAt FROM screen_content WHERE expires_at IS NULL OR expires_at > ? ORDER BY screen');
  }

  /** Empty content (no products, title or message) clears the screen's entry. */
  set(screen: string, content: ScreenContent, at: number, expiresAt: number | null): void {
    if (content.products.length === 0 && !content.title && !content.message) this.clear.run(screen);
    else this.upsert.run(screen, JSON.stringify(content), Math.round(at), expiresAt === null ? null : Math.round(expiresAt));
  }

  /** Every screen's content still valid at `now`. */
  valid(now: number): StoredScreenContent[] {
    return (this.current.all(Math.round(now)) as { screen: string; content: string; setAt: number; expiresAt: number | null }[]).map((r) => ({
      screen: r.screen,
      setAt: r.setAt,
      expiresAt: r.expiresAt,
      ...(JSON.parse(r.content) as ScreenContent),
    }));
  }
}
