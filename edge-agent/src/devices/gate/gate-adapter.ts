import type { BackoffPolicy } from '../../backoff.js';
import { availability } from '../device-availability.js';
import type { EventBus } from '../../bus.js';
import type { StoreClock } from '../../clock.js';
import type { StoreDatabase } from '../../db/database.js';
import { GateEventRepository } from '../../db/repositories/gate-events.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { ProblemLog } from '../problem-log.js';
import type { ByteTransport } from '../serial/byte-transport.js';
import { DeviceLink } from '../serial/device-link.js';
import type { GateEvent, GateReading } from './gate-event.js';
import { GateLineDecoder } from './gate-protocol.js';

export interface GateAdapterOptions {
  /** Gate id from the configuration. */
  gate: string;
  url: string;
  transport: (url: string) => ByteTransport;
  clock: StoreClock;
  log: Logger;
  bus: EventBus;
  /** Where readings become facts; opened by the time `start()` runs. */
  store: StoreDatabase;
  backoff?: BackoffPolicy;
}

/**
 * One gate controller: each reading is stored first and only then announced on the bus as
 * `gate.event` with its id, so nothing ever reacts to an entry a crash could lose. Gates are
 * silent between shoppers, so there is no stall detection.
 */
export class GateAdapter implements Component {
  readonly name: string;
  readonly dependsOn = ['database'] as const;
  private readonly decoder: GateLineDecoder;
  private readonly link: DeviceLink;
  private readonly log: Logger;
  private readonly problems: ProblemLog;
  private events: GateEventRepository | undefined;
  private stored = 0;
  private storeFailures = 0;
  private internalErrors = 0;

  constructor(private readonly options: GateAdapterOptions) {
    this.name = `gate-${options.gate}`;
    this.log = options.log.child({ device: this.name });
    this.problems = new ProblemLog(this.log);
    this.decoder = new GateLineDecoder(options.gate, (reading) => this.onReading(reading));
    this.link = new DeviceLink({
      url: options.url,
      transport: options.transport,
      log: this.log,
      stallMs: 0,
      onData: (chunk, receivedAt) => this.onData(chunk, receivedAt),
      onAvailability: (online, reason) => this.onAvailability(online, reason),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
  }

  async start(): Promise<void> {
    this.events = new GateEventRepository(this.options.store.handle);
    this.link.start();
  }

  async stop(): Promise<void> {
    await this.link.stop();
    this.events = undefined;
  }

  health(): ComponentHealth {
    const state = this.link.state;
    const online = state === 'online';
    const d = this.decoder.counters;
    return {
      status: online ? 'up' : 'degraded',
      ...(online ? {} : { detail: `${state}: ${this.link.reason ?? `waiting for ${this.options.url}`}` }),
      url: this.options.url,
      state,
      counters: {
        ...d,
        stored: this.stored,
        storeFailures: this.storeFailures,
        internalErrors: this.internalErrors,
        reconnects: this.link.counters.reconnects,
        openFailures: this.link.counters.openFailures,
      },
      lastProblem: this.decoder.lastProblem ?? null,
    };
  }

  private onData(chunk: Buffer, receivedAt: number): void {
    try {
      this.decoder.push(chunk, receivedAt);
    } catch (err) {
      this.internalErrors += 1;
      this.decoder.reset();
      this.problems.report({ err }, 'gate line parsing threw; chunk dropped');
    }
  }

  private onReading(reading: GateReading): void {
    let event: GateEvent;
    try {
      if (!this.events) throw new Error('gate adapter is not started');
      event = this.events.record(reading);
    } catch (err) {
      // Not stored means not a fact: it is counted and logged, never announced.
      this.storeFailures += 1;
      this.problems.report({ err, reading }, 'gate event could not be stored; dropped');
      return;
    }
    this.stored += 1;
    this.options.bus.emit('gate.event', event);
  }

  private onAvailability(online: boolean, reason: string | undefined): void {
    if (online) this.decoder.reset();
    this.options.bus.emit('device.availability', availability(this.options.gate, 'gate', online, reason, this.options.clock.now()));
  }
}
