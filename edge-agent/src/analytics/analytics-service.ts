/**
 * Shopper analytics in the agent: shoppers on the floor (from vision) become zone visits, store
 * visits and hourly heat, stored first and then announced; picks from the shelves are credited
 * to the shopper at the shelf; staff (staff-only zone, badge tag, or marked by staff tools) are
 * never counted. No frame or crop ever reaches this module: it sees floor positions and
 * anonymous track ids only.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { AnalyticsRepository } from '../db/repositories/analytics.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { StoreLayout } from '../sim/store-layout.js';
import { FloorAnalytics, type AnalyticsSink, type StaffReason } from './floor-analytics.js';
import { HourlySummary } from './hourly-summary.js';
import { LocalHours } from './local-hours.js';
import { StaffBadges } from './staff-badges.js';

/** How often staff marks written by other processes are picked up and hourly tables rebuilt. */
const POLL_MS = 2_000;
const REBUILD_MS = 60_000;

export interface AnalyticsServiceOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
}

export class AnalyticsService implements Component {
  readonly name = 'analytics';
  readonly dependsOn = ['database'] as const;
  private readonly hours: LocalHours;
  private readonly engine: FloorAnalytics;
  private readonly layout: StoreLayout;
  private readonly badges: StaffBadges;
  private repo: AnalyticsRepository | undefined;
  private summary: HourlySummary | undefined;
  private readonly dirtyHours = new Set<number>();
  private lastMarkId = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private storeFailures = 0;
  private lastFailure: string | undefined;
  private lastObservationAt: number | null = null;

  constructor(private readonly options: AnalyticsServiceOptions) {
    const { config } = options;
    this.hours = new LocalHours(config.store.timezone);
    this.layout = new StoreLayout(config);
    this.badges = new StaffBadges(config.analytics.staffBadges);
    this.engine = new FloorAnalytics(config, this.hours, this.sink, this.layout);
  }

  get floor(): FloorAnalytics {
    return this.engine;
  }

  async start(): Promise<void> {
    const db = this.options.database.handle;
    this.repo = new AnalyticsRepository(db);
    this.summary = new HourlySummary(db, this.repo);
    this.lastMarkId = this.repo.lastStaffMarkId();
    const { bus } = this.options;
    bus.on('vision.shoppers', this.name, (update) => {
      for (const t of update.tracks) {
        if (t.sources.length === 0) continue;
        this.engine.observe(t.id, t.at, t.x, t.y);
        this.lastObservationAt = t.at;
      }
      for (const id of update.ended) this.engine.end(id);
    });
    bus.on('shelf.weight-event', this.name, (e) => {
      if (e.kind !== 'pick') return;
      this.engine.pick(e.shelf, e.tEnd, (e.tStart + e.tEnd) / 2, this.placeOf(e.plates));
    });
    bus.on('rfid.tag', this.name, (o) => {
      if (o.kind !== 'seen' || !o.shelf || !this.badges.matches(o.epc)) return;
      const place = this.placeOf(this.layout.shelves.get(o.shelf)?.plates.map((p) => p.key) ?? []);
      if (place) this.engine.badgeSeen(o.at, place.x, place.y);
    });
    bus.on('rfid.passage', this.name, (p) => {
      if (!this.badges.matches(p.epc)) return;
      const zone = this.options.config.gates.find((g) => g.id === p.gate)?.zone;
      const place = zone ? this.layout.zone(zone)?.centroid : undefined;
      if (place) this.engine.badgeSeen(p.at, place.x, place.y);
    });
    bus.on('gate.event', this.name, (g) => {
      if (g.kind === 'pass') this.dirtyHours.add(this.hours.startOf(g.at));
    });
    this.pollTimer = setInterval(() => this.applyStaffMarks(), POLL_MS);
    this.pollTimer.unref();
    this.rebuildTimer = setInterval(() => this.rebuildDirty(), REBUILD_MS);
    this.rebuildTimer.unref();
  }

  /** Tracks still open end where they were last seen, so every visit is stored at shutdown. */
  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    clearInterval(this.pollTimer);
    clearInterval(this.rebuildTimer);
    if (this.repo) {
      this.applyStaffMarks();
      this.engine.endAll();
      this.rebuildDirty();
    }
    this.repo = undefined;
    this.summary = undefined;
  }

  health(): ComponentHealth {
    return {
      status: this.storeFailures > 0 ? 'degraded' : 'up',
      ...(this.storeFailures > 0 ? { detail: `${this.storeFailures} analytics facts could not be stored: ${this.lastFailure}` } : {}),
      occupancy: this.engine.occupancy,
      lastObservationAt: this.lastObservationAt,
      counters: { ...this.engine.counts, storeFailures: this.storeFailures },
    };
  }

  /** Rebuilds the hourly tables of every hour with new facts; the replay and the bench call it. */
  rebuildDirty(): void {
    if (!this.summary || this.dirtyHours.size === 0) return;
    const hours = [...this.dirtyHours];
    this.dirtyHours.clear();
    this.store(() => this.summary!.rebuild(hours));
  }

  /** Staff marks written by staff tools since the last look. */
  applyStaffMarks(): void {
    const repo = this.repo;
    if (!repo) return;
    this.store(() => {
      for (const mark of repo.staffMarksAfter(this.lastMarkId)) {
        this.lastMarkId = mark.id;
        if (mark.reason === 'admin') this.engine.markStaff(mark.shopper, 'admin', mark.at);
      }
    });
  }

  /** Where a shopper stands to reach these plates (their mean). */
  private placeOf(plates: readonly string[]): { x: number; y: number } | undefined {
    const spots = plates.map((p) => this.layout.plates.get(p)?.standAt).filter((p) => p !== undefined);
    if (spots.length === 0) return undefined;
    return { x: spots.reduce((s, p) => s + p.x, 0) / spots.length, y: spots.reduce((s, p) => s + p.y, 0) / spots.length };
  }


  private readonly sink: AnalyticsSink = {
    dwellStarted: (e) => this.options.bus.emit('analytics.dwell-started', e),
    lingering: (e) => this.options.bus.emit('analytics.lingering', e),
    pick: (credit) => this.options.bus.emit('analytics.pick', credit),
    zoneVisit: (v) => {
      const id = this.store(() => this.repo!.recordZoneVisit(v));
      if (id === undefined) return;
      this.dirtyHours.add(this.hours.startOf(v.enteredAt));
      this.options.bus.emit('analytics.zone-visit', { ...v, id });
    },
    storeVisit: (v) => {
      const id = this.store(() => this.repo!.recordStoreVisit(v));
      if (id === undefined) return;
      for (const h of this.hours.hoursBetween(v.enteredAt, v.exitedAt)) this.dirtyHours.add(h);
      this.options.bus.emit('analytics.store-visit', { ...v, id });
    },
    heat: (hourStart, cells) => {
      this.store(() => this.repo!.addHeat(hourStart, this.options.config.analytics.heatmap.cellM, cells));
    },
    staff: (shopper, reason: StaffReason, at) => {
      this.store(() => {
        if (reason !== 'admin') this.lastMarkId = Math.max(this.lastMarkId, this.repo!.recordStaffMark(shopper, reason, null, at));
        for (const h of this.hours.hoursCovering(this.repo!.exclude(shopper, 'staff'))) this.dirtyHours.add(h);
      });
      this.options.log.info({ shopper, reason }, 'shopper track is staff: left out of analytics');
      this.options.bus.emit('analytics.staff', { shopper, reason, at });
    },
  };

  /** Runs a write; a failure is counted and logged, never thrown into the bus. */
  private store<T>(write: () => T): T | undefined {
    if (!this.repo) return undefined;
    try {
      return write();
    } catch (err) {
      this.storeFailures += 1;
      this.lastFailure = describeError(err);
      this.options.log.error({ err }, 'analytics fact not stored');
      return undefined;
    }
  }
}
