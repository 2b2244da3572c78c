import type { DeviceAvailability } from '../devices/device-availability.js';

export interface DeviceDownSink {
  down(device: DeviceAvailability, offlineSince: number): void;
  /** Every time a device comes online. */
  back(device: DeviceAvailability): void;
}

/**
 * A device offline for longer than the grace period is down (an alert for staff); a blip of a
 * reconnect is not. It is back once it has stayed online `steadyMs`: a device that reconnects and
 * drops again at once is still down, and its alert neither waits for a quiet spell nor flaps.
 */
export class DeviceDownWatch {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly down = new Set<string>();
  /** Devices online again but not yet for `steadyMs`. */
  private readonly returning = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly sink: DeviceDownSink,
    private readonly steadyMs = 10_000,
  ) {}

  observe(a: DeviceAvailability): void {
    if (a.online) {
      if (!this.pending.has(a.device) && !this.down.has(a.device)) {
        // Also when this watch never saw it down: an alert of an earlier run may still be open.
        this.sink.back(a);
        return;
      }
      if (this.returning.has(a.device)) return;
      const timer = setTimeout(() => {
        this.returning.delete(a.device);
        this.cancel(a.device);
        this.down.delete(a.device);
        this.sink.back(a);
      }, this.steadyMs);
      timer.unref();
      this.returning.set(a.device, timer);
      return;
    }
    const returning = this.returning.get(a.device);
    if (returning) {
      // Dropped again before it was steady: the same outage goes on.
      clearTimeout(returning);
      this.returning.delete(a.device);
    }
    if (this.pending.has(a.device) || this.down.has(a.device)) return;
    const timer = setTimeout(() => {
      this.pending.delete(a.device);
      // Online right now (not yet steady): not down; a drop starts the grace period again.
      if (this.returning.has(a.device)) return;
      this.down.add(a.device);
      this.sink.down(a, a.at);
    }, this.graceMs);
    timer.unref();
    this.pending.set(a.device, timer);
  }

  get downDevices(): string[] {
    return [...this.down];
  }

  stop(): void {
    for (const device of [...this.pending.keys()]) this.cancel(device);
    for (const timer of this.returning.values()) clearTimeout(timer);
    this.returning.clear();
  }

  private cancel(device: string): void {
    const timer = this.pending.get(device);
    if (timer) clearTimeout(timer);
    this.pending.delete(device);
  }
}
