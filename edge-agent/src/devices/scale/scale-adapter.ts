import type { BackoffPolicy } from '../../backoff.js';
import { availability } from '../device-availability.js';
import type { EventBus } from '../../bus.js';
import type { StoreClock } from '../../clock.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import type { ShelfTick, ShelfTickSink } from '../../shelf/shelf-tick.js';
import { ProblemLog } from '../problem-log.js';
import type { ByteTransport } from '../serial/byte-transport.js';
import { DeviceLink } from '../serial/device-link.js';
import {
  ADC_MAX,
  ADC_MIN,
  SCALE_ERROR_CODES,
  SCALE_STATUS_CODES,
  ScaleLineDecoder,
  encodeCommandLine,
  type ScaleIdentity,
  type ScaleLineCounters,
  type ScaleNotice,
  type ScaleSample,
} from './scale-line-protocol.js';

export interface ScaleAdapterOptions {
  /** Component and device id, `shelf-G.S`. */
  device: string;
  /** "G.S" */
  shelf: string;
  url: string;
  plateCount: number;
  transport: (url: string) => ByteTransport;
  clock: StoreClock;
  log: Logger;
  bus: EventBus;
  sink: ShelfTickSink;
  stallMs?: number;
  backoff?: BackoffPolicy;
  /** Components that must run first, e.g. the calibrations the sink converts with. */
  dependsOn?: readonly string[];
}

/** What the adapter counts beyond the decoder's own counters. */
interface PlateCounters {
  unknownPlates: number;
  missingPlates: number;
  outOfRange: number;
  saturated: number;
  plateErrors: number;
  droppedTicks: number;
  statusLines: number;
  errorLines: number;
  sinkErrors: number;
  internalErrors: number;
}

export interface ControllerNotice extends ScaleNotice {
  name: string;
  at: number;
}

const BOOT = 1;
const BUTTON = 4;
/** A sequence jump this large is a controller restart (or reordering), not lost samples. */
const SEQ_RESTART_GAP = 0x8000;

/**
 * One shelf controller: bytes → sample lines → ONE reused `ShelfTick` per sample, handed to the
 * sink. Bad lines and bad plate values are counted, never thrown; a plate with no usable reading
 * is marked invalid for that tick only.
 */
export class ScaleAdapter implements Component {
  readonly name: string;
  readonly dependsOn: readonly string[];
  private readonly tick: ShelfTick;
  private readonly decoder: ScaleLineDecoder;
  private readonly link: DeviceLink;
  private readonly plates: PlateCounters = {
    unknownPlates: 0,
    missingPlates: 0,
    outOfRange: 0,
    saturated: 0,
    plateErrors: 0,
    droppedTicks: 0,
    statusLines: 0,
    errorLines: 0,
    sinkErrors: 0,
    internalErrors: 0,
  };
  private readonly log: Logger;
  private readonly problems: ProblemLog;
  private lastSeq = -1;
  private identity: ScaleIdentity | undefined;
  private lastNotice: ControllerNotice | undefined;

  constructor(private readonly options: ScaleAdapterOptions) {
    this.name = options.device;
    this.dependsOn = options.dependsOn ?? [];
    this.log = options.log.child({ device: options.device });
    this.problems = new ProblemLog(this.log);
    this.tick = {
      shelf: options.shelf,
      at: 0,
      deviceTs: 0,
      seq: 0,
      raw: new Int32Array(options.plateCount),
      valid: new Uint8Array(options.plateCount),
    };
    this.decoder = new ScaleLineDecoder({
      sample: (s) => this.onSample(s),
      identity: (identity) => this.onIdentity(identity),
      status: (notice, at) => this.onNotice(notice, false, at),
      error: (notice, at) => this.onNotice(notice, true, at),
    });
    this.link = new DeviceLink({
      url: options.url,
      transport: options.transport,
      log: this.log,
      onData: (chunk, receivedAt) => this.onData(chunk, receivedAt),
      onAvailability: (online, reason) => this.onAvailability(online, reason),
      framed: true,
      ...(options.stallMs === undefined ? {} : { stallMs: options.stallMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
  }

  async start(): Promise<void> {
    this.link.start();
  }

  async stop(): Promise<void> {
    await this.link.stop();
  }

  health(): ComponentHealth {
    const state = this.link.state;
    const online = state === 'online';
    return {
      status: online ? 'up' : 'degraded',
      ...(online ? {} : { detail: `${state}: ${this.link.reason ?? `waiting for ${this.options.url}`}` }),
      url: this.options.url,
      state,
      counters: this.counters(),
      lastSampleAt: this.tick.at > 0 ? this.tick.at : null,
      identity: this.identity ?? null,
      lastNotice: this.lastNotice ?? null,
    };
  }

  counters(): Record<string, number> {
    const d = this.decoder.counters;
    const l = this.link.counters;
    return {
      bytes: d.bytes,
      lines: d.lines,
      samples: d.samples,
      checksumErrors: d.checksumErrors,
      malformed: d.missingStart + d.badFraming + d.badFieldCount + d.nonNumeric,
      overlong: d.overlong,
      unknownType: d.unknownType,
      garbageBytes: d.garbageBytes,
      ...this.plates,
      stalls: l.stalls,
      reconnects: l.reconnects,
      openFailures: l.openFailures,
    };
  }

  private onData(chunk: Buffer, receivedAt: number): void {
    const before = readableLines(this.decoder.counters);
    try {
      this.decoder.push(chunk, receivedAt);
    } catch (err) {
      // A bug in parsing must cost one chunk, not the adapter: drop the partial line and go on.
      this.plates.internalErrors += 1;
      this.decoder.reset();
      this.problems.report({ err }, 'scale line parsing threw; chunk dropped');
    }
    // Only readable lines prove the controller alive; noise does not.
    if (readableLines(this.decoder.counters) > before) this.link.alive();
  }

  private onSample(s: ScaleSample): void {
    const tick = this.tick;
    const n = tick.raw.length;
    const got = s.plateCount;
    if (got > n) this.plates.unknownPlates += got - n;
    else if (got < n) this.plates.missingPlates += n - got;
    for (let i = 0; i < n; i++) {
      if (i >= got) {
        tick.valid[i] = 0;
        continue;
      }
      const v = s.raw[i]!;
      tick.raw[i] = v;
      if (s.plateError[i]) {
        this.plates.plateErrors += 1;
        tick.valid[i] = 0;
      } else if (v > ADC_MAX || v < ADC_MIN) {
        this.plates.outOfRange += 1;
        tick.valid[i] = 0;
      } else if (v === ADC_MAX || v === ADC_MIN) {
        this.plates.saturated += 1;
        tick.valid[i] = 0;
      } else tick.valid[i] = 1;
    }
    if (this.lastSeq >= 0) {
      const gap = (s.seq - this.lastSeq - 1) & 0xffff;
      if (gap > 0 && gap < SEQ_RESTART_GAP) this.plates.droppedTicks += gap;
    }
    this.lastSeq = s.seq;
    tick.at = s.receivedAt;
    tick.deviceTs = s.deviceTs;
    tick.seq = s.seq;
    try {
      this.options.sink(tick);
    } catch (err) {
      this.plates.sinkErrors += 1;
      this.problems.report({ err }, 'shelf tick sink threw; the adapter carries on');
    }
  }

  private onIdentity(identity: ScaleIdentity): void {
    const changed = this.identity?.serial !== identity.serial || this.identity.firmware !== identity.firmware;
    this.identity = identity;
    this.lastSeq = -1;
    if (!changed) return;
    this.log.info({ identity }, 'shelf controller identified');
    if (identity.plateCount !== this.tick.raw.length) {
      this.log.warn({ controllerPlates: identity.plateCount, configuredPlates: this.tick.raw.length }, 'shelf controller serves a different number of plates than configured');
    }
  }

  private onNotice(notice: ScaleNotice, isError: boolean, at: number): void {
    const codes: Record<number, string> = isError ? SCALE_ERROR_CODES : SCALE_STATUS_CODES;
    const named: ControllerNotice = { ...notice, name: codes[notice.code] ?? `CODE_${notice.code}`, at };
    if (isError) {
      this.plates.errorLines += 1;
      this.lastNotice = named;
      this.problems.report({ notice: named }, 'shelf controller reports an error');
      return;
    }
    this.plates.statusLines += 1;
    if (notice.code === BUTTON) {
      this.log.info({ notice: named }, 'shelf button pressed');
      this.options.bus.emit('shelf.button', { shelf: this.options.shelf, button: notice.text || 'RESTOCK', at: this.options.clock.now() });
      return;
    }
    if (notice.code === BOOT) {
      this.lastSeq = -1;
      this.lastNotice = named;
      this.log.info({ notice: named }, 'shelf controller restarted');
    }
  }

  private onAvailability(online: boolean, reason: string | undefined): void {
    if (online) {
      // A new connection: whatever was half-received before belongs to the old one.
      this.decoder.reset();
      this.lastSeq = -1;
      this.link.write(encodeCommandLine({ name: 'ID' })).catch((err: unknown) => this.log.debug({ err }, 'could not ask the controller for its identity'));
    }
    this.options.bus.emit('device.availability', availability(this.options.device, 'scale', online, reason, this.options.clock.now()));
  }
}

function readableLines(c: ScaleLineCounters): number {
  return c.samples + c.identities + c.statuses + c.errors;
}
