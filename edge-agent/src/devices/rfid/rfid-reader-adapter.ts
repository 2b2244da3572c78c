import type { RfidReaderConfig } from '../../../../device-config/schema.js';
import type { BackoffPolicy } from '../../backoff.js';
import type { EventBus } from '../../bus.js';
import type { StoreClock } from '../../clock.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { availability } from '../device-availability.js';
import { ProblemLog } from '../problem-log.js';
import type { ByteTransport } from '../serial/byte-transport.js';
import { DeviceLink } from '../serial/device-link.js';
import { AsciiRfidDecoder, type AsciiTagRead } from './ascii-rfid-protocol.js';
import {
  R200Decoder,
  R200_COMMAND,
  R200_NO_TAG,
  R200_OK,
  encodeSetPower,
  encodeSetRegion,
  encodeStartPolling,
  encodeStopPolling,
  r200ErrorName,
  r200ParamByte,
  r200ParamText,
  r200ParamWord,
  type R200Frame,
  type R200Region,
  type R200TagRead,
} from './r200-protocol.js';
import type { TagRead, TagReadSink } from './tag-read.js';

/** The store configuration has no radio region yet; every store so far is in Europe (ETSI). */
export const R200_DEFAULT_REGION: R200Region = 'europe';
/** A polling R200 sends a read or a no-tag error several times a second: this much silence is a stall. */
export const R200_STALL_MS = 5_000;
const COMMAND_TIMEOUT_MS = 500;

export interface RfidReaderAdapterOptions {
  reader: RfidReaderConfig;
  transport: (url: string) => ByteTransport;
  clock: StoreClock;
  log: Logger;
  bus: EventBus;
  sink: TagReadSink;
  backoff?: BackoffPolicy;
  /** R200 only (ASCII readers are silent when no tag is near): silence that counts as a stall. */
  stallMs?: number;
  /** R200 only: the radio region set on every connect. */
  region?: R200Region;
  /** R200 only: how long to wait for the answer to a set-up command before going on. */
  commandTimeoutMs?: number;
}

/** 'abandoned': the connection changed or the adapter stopped before an answer came. */
type Answer = 'ok' | 'rejected' | 'timeout' | 'abandoned';

interface PendingCommand {
  command: number;
  settle: (answer: Answer) => void;
}

interface ReaderCounters {
  /** Reads handed to the sink. */
  reads: number;
  unknownAntenna: number;
  noTagResponses: number;
  moduleErrors: number;
  /** Set-up commands the module answered with a failure status or an error. */
  rejectedCommands: number;
  commandTimeouts: number;
  sinkErrors: number;
  internalErrors: number;
}

export interface ModuleErrorNotice {
  code: number;
  name: string;
  at: number;
}

/**
 * One RFID reader: an R200 module (binary frames, one antenna, told to poll on every connect)
 * or a fixed reader printing one read per line. Every read goes to the sink in ONE reused
 * `TagRead`; whatever cannot be used is counted, never thrown.
 */
export class RfidReaderAdapter implements Component {
  readonly name: string;
  private readonly reader: RfidReaderConfig;
  private readonly link: DeviceLink;
  private readonly r200: R200Decoder | undefined;
  private readonly ascii: AsciiRfidDecoder | undefined;
  private readonly ports: ReadonlySet<number>;
  private readonly read: TagRead;
  private readonly log: Logger;
  private readonly problems: ProblemLog;
  private readonly region: R200Region;
  private readonly commandTimeoutMs: number;
  private readonly counts: ReaderCounters = {
    reads: 0,
    unknownAntenna: 0,
    noTagResponses: 0,
    moduleErrors: 0,
    rejectedCommands: 0,
    commandTimeouts: 0,
    sinkErrors: 0,
    internalErrors: 0,
  };
  private readonly errorsByCode = new Map<number, number>();
  private lastModuleError: ModuleErrorNotice | undefined;
  private readonly moduleInfo: Record<string, string> = {};
  private reportedPowerDbm: number | undefined;
  /** Bumped on every open, so set-up left over from a lost connection stops. */
  private connection = 0;
  private pending: PendingCommand | undefined;
  private stopping = false;

  constructor(private readonly options: RfidReaderAdapterOptions) {
    const reader = options.reader;
    this.reader = reader;
    this.name = `rfid-${reader.id}`;
    this.log = options.log.child({ device: this.name });
    this.problems = new ProblemLog(this.log);
    this.region = options.region ?? R200_DEFAULT_REGION;
    this.commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    this.ports = new Set(reader.antennas.map((a) => a.port));
    this.read = { reader: reader.id, antenna: reader.antennas[0]?.port ?? 1, epc: '', rssi: Number.NaN, at: 0 };
    const isR200 = reader.protocol === 'r200';
    if (isR200) {
      this.r200 = new R200Decoder({
        tag: (tag) => this.onR200Tag(tag),
        moduleError: (code, at) => this.onModuleError(code, at),
        response: (frame) => this.onResponse(frame),
      });
    } else {
      this.ascii = new AsciiRfidDecoder((read) => this.onAsciiRead(read), reader.linePattern);
    }
    this.link = new DeviceLink({
      url: reader.device,
      transport: options.transport,
      log: this.log,
      stallMs: isR200 ? (options.stallMs ?? R200_STALL_MS) : 0,
      framed: isR200,
      onOpen: () => this.onOpen(),
      onData: (chunk, receivedAt) => this.onData(chunk, receivedAt),
      onAvailability: (online, reason) => this.onAvailability(online, reason),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.link.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.r200 && this.link.state === 'online') {
      // A module left polling keeps its radio on and floods the port the next agent opens.
      const answer = this.expect(R200_COMMAND.stopPolling);
      try {
        await this.link.write(encodeStopPolling());
        if ((await answer) !== 'ok') this.log.warn('the reader did not confirm that it stopped polling');
      } catch (err) {
        this.settle('abandoned');
        this.log.debug({ err }, 'could not tell the reader to stop polling');
      }
    }
    this.settle('abandoned');
    await this.link.stop();
  }

  health(): ComponentHealth {
    const state = this.link.state;
    const online = state === 'online';
    const errors: Record<string, number> = {};
    for (const [code, n] of this.errorsByCode) errors[`0x${code.toString(16).toUpperCase().padStart(2, '0')} ${r200ErrorName(code)}`] = n;
    return {
      status: online ? 'up' : 'degraded',
      ...(online ? {} : { detail: `${state}: ${this.link.reason ?? `waiting for ${this.reader.device}`}` }),
      url: this.reader.device,
      protocol: this.reader.protocol,
      state,
      counters: this.counters(),
      lastReadAt: this.read.at > 0 ? this.read.at : null,
      ...(this.r200
        ? {
            moduleErrors: errors,
            lastModuleError: this.lastModuleError ?? null,
            moduleInfo: this.moduleInfo,
            powerDbm: this.reportedPowerDbm ?? null,
          }
        : {}),
    };
  }

  counters(): Record<string, number> {
    const l = this.link.counters;
    const link = { stalls: l.stalls, reconnects: l.reconnects, openFailures: l.openFailures };
    if (this.r200) {
      const d = this.r200.counters;
      return {
        bytes: d.bytes,
        frames: d.frames,
        garbageBytes: d.garbageBytes,
        framingErrors: d.framingErrors,
        checksumErrors: d.checksumErrors,
        truncated: d.truncated,
        unknownTypes: d.unknownTypes,
        unknownCommands: d.unknownCommands,
        malformed: d.badParameters,
        tagCrcErrors: d.tagCrcErrors,
        ...this.counts,
        ...link,
      };
    }
    const d = this.ascii!.counters;
    return { bytes: d.bytes, lines: d.lines, blank: d.blank, malformed: d.malformed, overlong: d.overlong, ...this.counts, ...link };
  }

  private onOpen(): void {
    this.connection += 1;
    // Whatever was half-received belongs to the connection before.
    this.r200?.reset();
    this.ascii?.reset();
    this.settle('abandoned');
    if (this.r200) void this.startPolling(this.connection);
  }

  /** Region, power, then polling until stopped: a module forgets all of it when it loses power. */
  private async startPolling(connection: number): Promise<void> {
    const current = () => connection === this.connection && !this.stopping;
    try {
      await this.command(R200_COMMAND.setRegion, encodeSetRegion(this.region));
      if (current() && this.reader.powerDbm !== undefined) await this.command(R200_COMMAND.setPower, encodeSetPower(this.reader.powerDbm));
      if (current()) await this.link.write(encodeStartPolling());
    } catch (err) {
      // The connection went away; the next one starts over.
      if (current()) this.log.warn({ err }, 'could not start the reader polling');
    }
  }

  private async command(command: number, frame: Buffer): Promise<void> {
    const answer = this.expect(command);
    try {
      await this.link.write(frame);
    } catch (err) {
      this.settle('abandoned');
      throw err;
    }
    const result = await answer;
    if (result === 'timeout') {
      this.counts.commandTimeouts += 1;
      this.problems.report({ command: `0x${command.toString(16)}` }, 'the reader did not answer a set-up command in time; going on');
    }
  }

  private expect(command: number): Promise<Answer> {
    this.settle('abandoned');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle('timeout'), this.commandTimeoutMs);
      this.pending = {
        command,
        settle: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
      };
    });
  }

  private settle(answer: Answer): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.settle(answer);
  }

  private onData(chunk: Buffer, receivedAt: number): void {
    const frames = this.r200?.counters.frames ?? 0;
    try {
      if (this.r200) this.r200.push(chunk, receivedAt);
      else this.ascii!.push(chunk, receivedAt);
    } catch (err) {
      // A bug in parsing must cost one chunk, not the adapter.
      this.counts.internalErrors += 1;
      this.r200?.reset();
      this.ascii?.reset();
      this.problems.report({ err }, 'RFID parsing threw; chunk dropped');
    }
    // Only good R200 frames prove the module alive; noise does not.
    if (this.r200 && this.r200.counters.frames > frames) this.link.alive();
  }

  private onR200Tag(tag: R200TagRead): void {
    const read = this.read;
    read.antenna = this.reader.antennas[0]?.port ?? 1;
    read.epc = tag.epc;
    read.rssi = tag.rssi;
    read.at = tag.receivedAt;
    this.deliver();
  }

  private onAsciiRead(line: AsciiTagRead): void {
    if (!this.ports.has(line.antenna)) {
      this.counts.unknownAntenna += 1;
      this.problems.report({ antenna: line.antenna, configured: [...this.ports] }, 'read from an antenna port that is not configured; dropped');
      return;
    }
    const read = this.read;
    read.antenna = line.antenna;
    read.epc = line.epc;
    read.rssi = line.rssi;
    read.at = line.receivedAt;
    this.deliver();
  }

  private deliver(): void {
    this.counts.reads += 1;
    try {
      this.options.sink(this.read);
    } catch (err) {
      this.counts.sinkErrors += 1;
      this.problems.report({ err }, 'tag read sink threw; the adapter carries on');
    }
  }

  private onResponse(frame: R200Frame): void {
    const status = r200ParamByte(frame, 0);
    switch (frame.command) {
      case R200_COMMAND.setRegion:
      case R200_COMMAND.setPower:
      case R200_COMMAND.stopPolling: {
        const ok = status === R200_OK;
        if (!ok) {
          this.counts.rejectedCommands += 1;
          this.problems.report({ command: `0x${frame.command.toString(16)}`, status }, 'the reader refused a command');
        }
        if (this.pending?.command === frame.command) this.settle(ok ? 'ok' : 'rejected');
        return;
      }
      case R200_COMMAND.getPower:
        this.reportedPowerDbm = r200ParamWord(frame, 0) / 100;
        return;
      case R200_COMMAND.moduleInfo:
        this.moduleInfo[status === 0 ? 'hardware' : status === 1 ? 'software' : status === 2 ? 'manufacturer' : `info${status}`] = r200ParamText(frame, 1);
        return;
    }
  }

  private onModuleError(code: number, at: number): void {
    if (code === R200_NO_TAG) {
      this.counts.noTagResponses += 1;
      return;
    }
    this.counts.moduleErrors += 1;
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
    this.lastModuleError = { code, name: r200ErrorName(code), at };
    this.problems.report({ error: this.lastModuleError }, 'the reader reports an error');
    // The error answers the command in flight, if one is: the module names no command in it.
    if (this.pending) {
      this.counts.rejectedCommands += 1;
      this.settle('rejected');
    }
  }

  private onAvailability(online: boolean, reason: string | undefined): void {
    this.options.bus.emit('device.availability', availability(this.reader.id, 'rfid', online, reason, this.options.clock.now()));
  }
}
