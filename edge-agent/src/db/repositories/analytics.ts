import type { Database, Statement } from 'better-sqlite3';
import type { StaffReason, StoreVisit, ZoneVisit } from '../../analytics/floor-analytics.js';
import { round3 } from '../../numbers.js';

export interface StaffMark {
  id: number;
  shopper: string;
  reason: StaffReason;
  markedBy: string | null;
  at: number;
}

export interface StoredZoneVisit extends ZoneVisit {
  id: number;
  excluded: string | null;
}

export interface StoredStoreVisit extends StoreVisit {
  id: number;
  excluded: string | null;
}

interface ZoneVisitRow {
  id: number;
  shopper: string;
  zone: string;
  entered_at: number;
  exited_at: number;
  dwell_seconds: number;
  picks: number;
  lingered: number;
  excluded: string | null;
}

interface StoreVisitRow {
  id: number;
  shopper: string;
  entered_at: number;
  exited_at: number;
  picks: number;
  entry_zone: string | null;
  exit_zone: string | null;
  excluded: string | null;
}

const zoneVisitOf = (r: ZoneVisitRow): StoredZoneVisit => ({
  id: r.id,
  shopper: r.shopper,
  zone: r.zone,
  enteredAt: r.entered_at,
  exitedAt: r.exited_at,
  dwellSeconds: r.dwell_seconds,
  picks: r.picks,
  lingered: r.lingered === 1,
  excluded: r.excluded,
});

const storeVisitOf = (r: StoreVisitRow): StoredStoreVisit => ({
  id: r.id,
  shopper: r.shopper,
  enteredAt: r.entered_at,
  exitedAt: r.exited_at,
  picks: r.picks,
  entryZone: r.entry_zone,
  exitZone: r.exit_zone,
  excluded: r.excluded,
});

/** Dwell and store visits, staff marks and hourly heat. Times are whole milliseconds. */
export class AnalyticsRepository {
  private readonly insertZone: Statement;
  private readonly insertStore: Statement;
  private readonly insertMark: Statement;
  private readonly marksAfter: Statement;
  private readonly excludeZone: Statement;
  private readonly excludeStore: Statement;
  private readonly hoursOfShopper: Statement;
  private readonly heatUpsert: Statement;
  private readonly zoneRange: Statement;
  private readonly storeRange: Statement;
  private readonly storeOverlapping: Statement;
  private readonly heatRange: Statement;
  private readonly addHeatBatch: (hourStart: number, cellM: number, cells: ReadonlyMap<number, number>) => void;

  constructor(private readonly db: Database) {
    this.insertZone = db.prepare(
      'INSERT INTO zone_visits (shopper, zone, entered_at, exited_at, dwell_seconds, picks, lingered) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertStore = db.prepare('INSERT INTO store_visits (shopper, entered_at, exited_at, picks, entry_zone, exit_zone) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertMark = db.prepare('INSERT INTO staff_marks (shopper, reason, marked_by, at) VALUES (?, ?, ?, ?)');
    this.marksAfter = db.prepare('SELECT id, shopper, reason, marked_by AS markedBy, at FROM staff_marks WHERE id > ? ORDER BY id');
    this.excludeZone = db.prepare('UPDATE zone_visits SET excluded = ? WHERE shopper = ? AND excluded IS NULL');
    this.excludeStore = db.prepare('UPDATE store_visits SET excluded = ? WHERE shopper = ? AND excluded IS NULL');
    this.hoursOfShopper = db.prepare(
      'SELECT entered_at AS "from", entered_at AS "to" FROM zone_visits WHERE shopper = ? UNION ALL SELECT entered_at, exited_at FROM store_visits WHERE shopper = ?',
    );
    this.heatUpsert = db.prepare(
      'INSERT INTO heatmap_hourly (hour_start, cell_m, cell, seconds) VALUES (?, ?, ?, ?) ON CONFLICT (hour_start, cell_m, cell) DO UPDATE SET seconds = seconds + excluded.seconds',
    );
    this.zoneRange = db.prepare('SELECT * FROM zone_visits WHERE entered_at >= ? AND entered_at < ? ORDER BY entered_at, id');
    this.storeRange = db.prepare('SELECT * FROM store_visits WHERE entered_at >= ? AND entered_at < ? ORDER BY entered_at, id');
    this.storeOverlapping = db.prepare('SELECT * FROM store_visits WHERE exited_at >= ? AND entered_at < ? AND excluded IS NULL ORDER BY entered_at, id');
    this.heatRange = db.prepare('SELECT cell, SUM(seconds) AS seconds FROM heatmap_hourly WHERE hour_start >= ? AND hour_start < ? AND cell_m = ? GROUP BY cell');
    this.addHeatBatch = db.transaction((hourStart: number, cellM: number, cells: ReadonlyMap<number, number>) => {
      for (const [cell, seconds] of cells) this.heatUpsert.run(hourStart, cellM, cell, seconds);
    });
  }

  recordZoneVisit(v: ZoneVisit): number {
    return Number(
      this.insertZone.run(v.shopper, v.zone, Math.round(v.enteredAt), Math.round(v.exitedAt), round3(v.dwellSeconds), v.picks, v.lingered ? 1 : 0).lastInsertRowid,
    );
  }

  recordStoreVisit(v: StoreVisit): number {
    return Number(this.insertStore.run(v.shopper, Math.round(v.enteredAt), Math.round(v.exitedAt), v.picks, v.entryZone, v.exitZone).lastInsertRowid);
  }

  addHeat(hourStart: number, cellM: number, cells: ReadonlyMap<number, number>): void {
    this.addHeatBatch(hourStart, cellM, cells);
  }

  recordStaffMark(shopper: string, reason: StaffReason, markedBy: string | null, at: number): number {
    return Number(this.insertMark.run(shopper, reason, markedBy, Math.round(at)).lastInsertRowid);
  }

  staffMarksAfter(id: number): StaffMark[] {
    return this.marksAfter.all(id) as StaffMark[];
  }

  lastStaffMarkId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM staff_marks').get() as { id: number }).id;
  }

  /**
   * Leaves a shopper's stored visits out of every count; returns the time spans the rows count in
   * (a zone visit at its start, a store visit over its whole stay), for rebuilding their hours.
   */
  exclude(shopper: string, reason: string): { from: number; to: number }[] {
    const spans = this.hoursOfShopper.all(shopper, shopper) as { from: number; to: number }[];
    this.excludeZone.run(reason, shopper);
    this.excludeStore.run(reason, shopper);
    return spans;
  }

  /** Zone visits entered in [from, to), excluded ones too. */
  zoneVisits(from: number, to: number): StoredZoneVisit[] {
    return (this.zoneRange.all(from, to) as ZoneVisitRow[]).map(zoneVisitOf);
  }

  /** Store visits entered in [from, to), excluded ones too. */
  storeVisits(from: number, to: number): StoredStoreVisit[] {
    return (this.storeRange.all(from, to) as StoreVisitRow[]).map(storeVisitOf);
  }

  /** Counted store visits on the floor at any time in [from, to). */
  storeVisitsOverlapping(from: number, to: number): StoredStoreVisit[] {
    return (this.storeOverlapping.all(from, to) as StoreVisitRow[]).map(storeVisitOf);
  }

  /** Occupancy seconds per cell over the hours starting in [from, to), for one cell size. */
  heat(from: number, to: number, cellM: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const r of this.heatRange.all(from, to, cellM) as { cell: number; seconds: number }[]) out.set(r.cell, r.seconds);
    return out;
  }

  /** Row counts of the analytics tables. */
  tableRows(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of ['zone_visits', 'store_visits', 'staff_marks', 'heatmap_hourly', 'dwell_hourly', 'footfall_hourly']) {
      out[t] = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
    }
    return out;
  }
}
