import type { Database } from 'better-sqlite3';
import { PlateCalibrationRepository } from '../db/repositories/plate-calibrations.js';
import type { StoreDatabase } from '../db/database.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { StoreLayout } from '../sim/store-layout.js';
import { importCalibrations } from './plate-calibration-file.js';
import { PlateCalibrationTable } from './plate-calibration.js';
import type { ShelfTickSink } from './shelf-tick.js';

/**
 * The load-cell calibrations in force: loaded from the database at start, optionally seeded from
 * a file for plates that have none yet (the demo, a replayed recording, a new installation).
 */
export class CalibrationStore implements Component {
  readonly name = 'calibration';
  readonly dependsOn = ['database'] as const;
  private current: PlateCalibrationTable | undefined;
  private readonly rawWatchers = new Set<ShelfTickSink>();
  private readonly rawTap: ShelfTickSink = (tick) => {
    // On the 60 Hz sample path: no iterator unless someone is calibrating.
    if (this.rawWatchers.size === 0) return;
    for (const watcher of this.rawWatchers) watcher(tick);
  };

  constructor(
    private readonly database: StoreDatabase,
    private readonly layout: StoreLayout,
    private readonly log: Logger,
    private readonly seedFile?: string,
  ) {}

  get table(): PlateCalibrationTable {
    if (!this.current) throw new Error('calibrations are not loaded yet');
    return this.current;
  }

  async start(): Promise<void> {
    const repo = new PlateCalibrationRepository(this.database.handle);
    if (this.seedFile && this.needsSeed(repo)) {
      const seeded = await importCalibrations(repo, this.seedFile, `seed:${this.seedFile}`);
      this.log.info({ file: this.seedFile, plates: seeded.length }, 'plate calibrations seeded');
    }
    this.reload(this.database.handle);
  }

  async stop(): Promise<void> {
    this.current = undefined;
  }

  /**
   * Raw shelf ticks as they reach the calibration, until the returned function is called: the
   * admin page measures tare and span on the running agent with them. The tick is reused: copy
   * what you keep.
   */
  watchRaw(watcher: ShelfTickSink): () => void {
    const own: ShelfTickSink = (tick) => watcher(tick);
    this.rawWatchers.add(own);
    return () => void this.rawWatchers.delete(own);
  }

  /** Re-reads the calibrations in force, e.g. after `edge-agent calibrate scale` or the admin page. */
  reload(db: Database): void {
    this.current = new PlateCalibrationTable(this.layout, new PlateCalibrationRepository(db).latest(), this.rawTap);
    if (this.current.uncalibrated.length > 0) {
      this.log.warn({ plates: this.current.uncalibrated.length, examples: this.current.uncalibrated.slice(0, 5) }, 'plates without calibration read as missing');
    }
  }

  health(): ComponentHealth {
    const table = this.current;
    if (!table) return { status: 'down', detail: 'not loaded' };
    const missing = table.uncalibrated.length;
    return {
      status: missing === 0 ? 'up' : 'degraded',
      ...(missing === 0 ? {} : { detail: `${missing} plate${missing === 1 ? '' : 's'} without calibration` }),
      plates: this.layout.plates.size,
      uncalibrated: table.uncalibrated,
      unknownPlates: table.unknownPlates,
    };
  }

  private needsSeed(repo: PlateCalibrationRepository): boolean {
    const latest = repo.latest();
    return [...this.layout.plates.keys()].some((p) => !latest.has(p));
  }
}

