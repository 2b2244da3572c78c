/**
 * Operational alerts for staff and the cloud: a device down for longer than a reconnect blip,
 * the disk of the database running out of space (critically: retention at once, then no new
 * shopper sessions), and the wall clock jumping. Each is raised once while the fault lasts
 * (an `alert.raised` message in the outbox, in the same transaction) and resolved when it ends.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { StaffAlerts } from './staff-alerts.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { DeviceDownWatch } from './device-down-watch.js';
import { freeBytes } from './disk-space.js';
import { performance } from 'node:perf_hooks';

const MB = 1024 * 1024;
const CLOCK_STEADY_MS = 3_600_000;

export interface AlertsServiceOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
  clock?: () => number;
  /** Frees space at once (the retention job) when the disk is critically full. */
  freeSpace?: () => Promise<unknown>;
  /** Told when the disk becomes critically full (a reason) and when it is not any more (undefined). */
  diskCritical?: (reason: string | undefined) => void;
  /** Watch the store clock for jumps against the monotonic clock (not in a replay: its clock runs fast). */
  watchClock?: boolean;
  /** Monotonic milliseconds (performance.now). */
  monotonic?: () => number;
}

export class AlertsService implements Component {
  readonly name = 'alerts';
  readonly dependsOn = ['database'] as const;
  private alerts: StaffAlerts | undefined;
  private watch: DeviceDownWatch | undefined;
  private diskTimer: NodeJS.Timeout | undefined;
  private disk: { free: number; total: number } | undefined;
  private diskLow = false;
  private diskCritical = false;
  private clockTimer: NodeJS.Timeout | undefined;
  private lastClock: { wall: number; mono: number } | undefined;
  /** Monotonic time of the last jump (or of the first look): clock-jump alerts resolve after an hour without one. */
  private steadySince: number | undefined;
  private clockJumps = 0;
  private checkedOnce = false;
  private failures = 0;
  private lastFailure: string | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: AlertsServiceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  async start(): Promise<void> {
    const { config, bus } = this.options;
    this.alerts = new StaffAlerts(this.options.database.handle, config.store.id, bus, this.options.log);
    const graceMs = config.alerts.deviceDownSeconds * 1000;
    this.watch = new DeviceDownWatch(
      graceMs,
      {
        down: (a, since) => this.raise('device-down', a.device, { kind: a.kind, reason: a.reason ?? null, offlineSince: new Date(since).toISOString() }),
        back: (a) => this.resolve('device-down', a.device, { kind: a.kind }),
      },
      // Back once online for 10 s (never longer than the grace period itself).
      Math.min(10_000, graceMs),
    );
    bus.on('device.availability', this.name, (a) => this.watch?.observe(a));
    await this.checkDisk();
    this.diskTimer = setInterval(() => void this.checkDisk(), config.alerts.diskCheckSeconds * 1000);
    this.diskTimer.unref();
    if (this.options.watchClock) {
      this.checkClock();
      this.clockTimer = setInterval(() => this.checkClock(), 1_000);
      this.clockTimer.unref();
    }
  }

  /** Compares how far the store clock moved with how far the monotonic clock did since the last look. */
  checkClock(): void {
    const now = { wall: this.clock(), mono: this.options.monotonic ? this.options.monotonic() : performance.now() };
    const last = this.lastClock;
    this.lastClock = now;
    this.steadySince ??= now.mono;
    if (!last) return;
    const jump = now.wall - last.wall - (now.mono - last.mono);
    if (Math.abs(jump) < this.options.config.alerts.clockJumpSeconds * 1000) {
      // Each jump is its own alert; they end together once the clock has kept time for an hour
      // (also those an earlier run left open), so they never pile up.
      if (now.mono - this.steadySince >= CLOCK_STEADY_MS) {
        this.steadySince = now.mono;
        for (const open of this.alerts?.repository.open() ?? []) {
          if (open.kind === 'clock-jump') this.resolve('clock-jump', open.subject, { steadyHours: CLOCK_STEADY_MS / 3_600_000 });
        }
      }
      return;
    }
    this.steadySince = now.mono;
    this.clockJumps += 1;
    const at = new Date(now.wall).toISOString();
    this.raise('clock-jump', `${this.options.config.store.id}@${at.slice(0, 16)}`, { jumpSeconds: Math.round(jump / 100) / 10, from: new Date(last.wall).toISOString(), to: at });
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    this.watch?.stop();
    clearInterval(this.diskTimer);
    clearInterval(this.clockTimer);
    this.alerts = undefined;
  }

  health(): ComponentHealth {
    const down = this.watch?.downDevices ?? [];
    const problems = [
      ...(down.length > 0 ? [`devices down: ${down.join(', ')}`] : []),
      ...(this.diskCritical ? ['disk critically full: no new shopper sessions'] : this.diskLow ? [`disk low: ${Math.round((this.disk?.free ?? 0) / MB)} MB free`] : []),
    ];
    return {
      status: this.failures > 0 || problems.length > 0 ? 'degraded' : 'up',
      ...(problems.length > 0 || this.lastFailure ? { detail: [...problems, ...(this.lastFailure ? [`alerts not stored: ${this.lastFailure}`] : [])].join('; ') } : {}),
      devicesDown: down,
      diskFreeMb: this.disk ? Math.round(this.disk.free / MB) : null,
      open: this.alerts?.repository.open().length ?? 0,
      counters: { failures: this.failures, clockJumps: this.clockJumps },
    };
  }

  /** Measures free space now; raises or resolves `disk-low`. */
  async checkDisk(): Promise<void> {
    const { config } = this.options;
    try {
      this.disk = await freeBytes(config.dataDir);
    } catch (err) {
      this.failures += 1;
      this.lastFailure = `free space of ${config.dataDir}: ${describeError(err)}`;
      return;
    }
    const critical = this.disk.free < config.alerts.diskCriticalMb * MB;
    if (critical) await this.whenCritical();
    else if (this.diskCritical) {
      this.diskCritical = false;
      this.options.diskCritical?.(undefined);
      this.resolve('disk-critical', config.store.id, { freeMb: Math.round(this.disk.free / MB) });
    }
    const low = this.disk.free < config.alerts.diskLowMb * MB;
    const detail = { dataDir: config.dataDir, freeMb: Math.round(this.disk.free / MB), totalMb: Math.round(this.disk.total / MB), thresholdMb: config.alerts.diskLowMb };
    if (low) this.raise('disk-low', config.store.id, detail);
    // After a restart the open alert is in the database only: resolving looks there.
    else if (this.diskLow || !this.checkedOnce) this.resolve('disk-low', config.store.id, detail);
    this.checkedOnce = true;
    if (low !== this.diskLow) this.options.log[low ? 'warn' : 'info'](detail, low ? 'disk space low' : 'disk space recovered');
    this.diskLow = low;
  }

  /** Space first (retention now); if that was not enough, no new sessions until it is back. */
  private async whenCritical(): Promise<void> {
    const { config } = this.options;
    if (!this.diskCritical && this.options.freeSpace) {
      try {
        await this.options.freeSpace();
        this.disk = await freeBytes(config.dataDir);
      } catch (err) {
        this.failures += 1;
        this.lastFailure = `freeing space: ${describeError(err)}`;
      }
      if (this.disk!.free >= config.alerts.diskCriticalMb * MB) return;
    }
    if (this.diskCritical) return;
    this.diskCritical = true;
    const reason = `${Math.round(this.disk!.free / MB)} MB free on the data disk (critical under ${config.alerts.diskCriticalMb} MB)`;
    this.options.diskCritical?.(reason);
    this.raise('disk-critical', config.store.id, { freeMb: Math.round(this.disk!.free / MB), thresholdMb: config.alerts.diskCriticalMb });
  }

  private raise(kind: string, subject: string, detail: Record<string, unknown>): void {
    this.store(() => this.alerts?.raise(kind, subject, detail, this.clock()));
  }

  private resolve(kind: string, subject: string, detail: Record<string, unknown>): void {
    this.store(() => this.alerts?.resolve(kind, subject, detail, this.clock()));
  }

  private store(write: () => unknown): void {
    try {
      write();
    } catch (err) {
      this.failures += 1;
      this.lastFailure = describeError(err);
    }
  }
}
