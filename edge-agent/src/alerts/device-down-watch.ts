import type { DeviceAvailability } from '../devices/device-availability.js';

export interface DeviceDownSink {
  down(device: DeviceAvailability, offlineSince: number): void;
  /** Every time a device comes online. */
  back(device: DeviceAvailability): void;
}

/**
 * A device offline for longer than the grace period is down (an alert for staff); a blip of a
 * reconnect is not. It is back when it comes online again.
 */
export class DeviceDownWatch {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly down = new Set<string>();

  constructor(
    private readonly graceMs: number,
    private readonly sink: DeviceDownSink,
  ) {}

  observe(a: DeviceAvailability): void {
    if (a.online) {
      this.cancel(a.device);
      // Also when this watch never saw it down: an alert of an earlier run may still be open.
      this.down.delete(a.device);
      this.sink.back(a);
      return;
    }
    if (this.pending.has(a.device) || this.down.has(a.device)) return;
    const timer = setTimeout(() => {
      this.pending.delete(a.device);
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
  }

  private cancel(device: string): void {
    const timer = this.pending.get(device);
    if (timer) clearTimeout(timer);
    this.pending.delete(device);
  }
}
