import ModbusSerial from 'modbus-serial';
import { availability } from '../device-availability.js';
import { reconnectLoop } from '../reconnect-loop.js';
import type { ShelfConfig, StoreConfig } from '../../../../device-config/schema.js';
import { Backoff, DEVICE_BACKOFF, type BackoffPolicy } from '../../backoff.js';
import type { EventBus } from '../../bus.js';
import type { StoreClock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import type { ShelfTick, ShelfTickSink } from '../../shelf/shelf-tick.js';
import { DeviceUrlError, parseDeviceUrl, type DeviceUrl } from '../device-url.js';
import { ProblemLog } from '../problem-log.js';
import type { LinkState } from '../serial/device-link.js';

type ModbusClient = InstanceType<typeof ModbusSerial.default>;

/** How one bus is polled; the shelf's `modbus` section with its defaults filled in. */
export type ModbusBusSettings = NonNullable<ShelfConfig['modbus']>;
export type ModbusRegisterFormat = ModbusBusSettings['format'];
export type ModbusWordOrder = ModbusBusSettings['wordOrder'];

/** The schema's defaults, for a modbus-rtu shelf written without a `modbus` section. */
export const DEFAULT_MODBUS_SETTINGS: ModbusBusSettings = { pollHz: 20, timeoutMs: 100, registers: 'holding', format: 'int32', wordOrder: 'big' };

export const DEFAULT_SILENT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 3_000;
const CLOSE_TIMEOUT_MS = 1_000;
/**
 * After a timeout the bus stays quiet a while, so that a late answer arrives while no request
 * waits and is dropped: an RTU answer names no register, and a next request to the same unit would
 * take it for its own — another plate's weight, marked valid. Before a request to the same unit
 * the quiet lasts one more timeout; before another unit's (whose id tells the answers apart) this
 * long.
 */
const LATE_ANSWER_GUARD_MS = 20;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export const MODBUS_EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'ILLEGAL_FUNCTION',
  2: 'ILLEGAL_DATA_ADDRESS',
  3: 'ILLEGAL_DATA_VALUE',
  4: 'SERVER_DEVICE_FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER_DEVICE_BUSY',
  8: 'MEMORY_PARITY_ERROR',
  10: 'GATEWAY_PATH_UNAVAILABLE',
  11: 'GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND',
};

export interface ModbusPlate {
  /** Index of the plate in its shelf's tick (plate n at n-1). */
  index: number;
  unitId: number;
  /** First of the two registers holding the reading. */
  register: number;
}

export interface ModbusShelf {
  /** "G.S" */
  shelf: string;
  plates: readonly ModbusPlate[];
}

/** One RS-485 bus: every modbus-rtu shelf that shares a device URL. */
export interface ModbusBus {
  /** Component and device id, `modbus-<first shelf key>`. */
  device: string;
  url: string;
  shelves: ModbusShelf[];
  settings: ModbusBusSettings;
}

export interface ModbusScaleAdapterOptions extends ModbusBus {
  clock: StoreClock;
  log: Logger;
  bus: EventBus;
  sink: ShelfTickSink;
  /** Components that must run first, e.g. the calibrations the sink converts with. */
  dependsOn?: readonly string[];
  backoff?: BackoffPolicy;
  /** Every request timing out for this long means the bus is gone: the port is reopened. */
  silentMs?: number;
}

/** Why one request brought no reading, as modbus-serial reports it. */
export type ModbusFailure = 'timeout' | 'crc' | 'exception' | 'malformed' | 'port' | 'other';
type PlateFailure = Exclude<ModbusFailure, 'port'> | 'bad-value';

/**
 * modbus-serial fails a request with plain objects, not always `Error`s, told apart by their
 * `errno`, `modbusCode` and fixed messages (its index.js).
 */
export function classifyModbusError(err: unknown): ModbusFailure {
  const e = err as { message?: unknown; errno?: unknown; modbusCode?: unknown } | null | undefined;
  if (typeof e?.modbusCode === 'number') return 'exception';
  if (e?.errno === 'ETIMEDOUT') return 'timeout';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (message === 'CRC error') return 'crc';
  if (message === 'Port Not Open') return 'port';
  if (message.startsWith('Data length error') || message.startsWith('Unexpected data error')) return 'malformed';
  return 'other';
}

const floatBits = new DataView(new ArrayBuffer(4));

/**
 * The count a transmitter sent in two consecutive registers (each big-endian on the wire, as
 * Modbus has it); `wordOrder` says which register is the high word. float32 readings are counts
 * too, rounded. NaN when the value is no usable count (NaN, infinite, beyond 32 bits).
 */
export function decodeReading(first: number, second: number, format: ModbusRegisterFormat, wordOrder: ModbusWordOrder): number {
  const high = (wordOrder === 'big' ? first : second) & 0xffff;
  const low = (wordOrder === 'big' ? second : first) & 0xffff;
  if (format === 'int32') return (high << 16) | low;
  floatBits.setUint16(0, high);
  floatBits.setUint16(2, low);
  const value = Math.round(floatBits.getFloat32(0));
  return value >= INT32_MIN && value <= INT32_MAX ? value : NaN;
}

/**
 * The buses of a store: one per distinct device URL among modbus-rtu shelves. Shelves on one bus
 * are polled together, so the first shelf's settings rule; `warn` hears about shelves that
 * configured different ones.
 */
export function modbusBuses(config: StoreConfig, warn: (message: string) => void = () => undefined): ModbusBus[] {
  const buses = new Map<string, ModbusBus>();
  for (const gondola of config.gondolas) {
    for (const shelf of gondola.shelves) {
      if (shelf.protocol !== 'modbus-rtu') continue;
      const key = `${gondola.id}.${shelf.id}`;
      const settings: ModbusBusSettings = { ...DEFAULT_MODBUS_SETTINGS, ...shelf.modbus };
      const plates = shelf.plates.flatMap((p, index) => (p.modbus ? [{ index, unitId: p.modbus.unitId, register: p.modbus.register }] : []));
      const bus = buses.get(shelf.device);
      if (!bus) {
        buses.set(shelf.device, { device: `modbus-${key}`, url: shelf.device, shelves: [{ shelf: key, plates }], settings });
        continue;
      }
      bus.shelves.push({ shelf: key, plates });
      if (JSON.stringify(settings) !== JSON.stringify(bus.settings)) {
        warn(`shelf ${key} shares ${shelf.device} with shelf ${bus.shelves[0]!.shelf} but sets other modbus settings; the bus runs with ${bus.shelves[0]!.shelf}'s`);
      }
    }
  }
  return [...buses.values()];
}

interface PolledPlate {
  shelf: string;
  tick: ShelfTick;
  index: number;
  unitId: number;
  register: number;
  failing: boolean;
  failures: number;
  lastFailure: PlateFailure | undefined;
  lastExceptionCode: number;
  lastOther: string | undefined;
  lastFailureAt: number;
}

/** One open connection to the bus, polled until it is lost, falls silent or the adapter stops. */
interface Session {
  client: ModbusClient;
  signal: AbortSignal;
  onAbort: () => void;
  /** Plate being asked, in `plates` order. */
  cursor: number;
  inFlight: boolean;
  answered: boolean;
  lastAnswerAt: number;
  nextCycleAt: number;
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
  reason: string | undefined;
  done: (reason: string | undefined) => void;
}

interface BusCounters {
  cycles: number;
  requests: number;
  responses: number;
  timeouts: number;
  crcErrors: number;
  exceptions: number;
  malformed: number;
  badValues: number;
  otherErrors: number;
  overruns: number;
  silences: number;
  opens: number;
  openFailures: number;
  reconnects: number;
  sinkErrors: number;
  internalErrors: number;
}

/**
 * Load-cell transmitters on one RS-485 bus, polled as Modbus RTU master: one request at a time
 * (the bus is half-duplex), every plate of every shelf on the bus once per cycle, then ONE reused
 * `ShelfTick` per shelf, as the line-protocol `ScaleAdapter` delivers them. A plate that times
 * out or answers with an exception or a bad CRC is invalid for that cycle only; the bus is
 * reopened with back-off when its port is lost or every request has gone unanswered for
 * `silentMs`.
 */
export class ModbusScaleAdapter implements Component {
  readonly name: string;
  readonly dependsOn: readonly string[];
  private readonly ticks: ShelfTick[];
  private readonly plates: PolledPlate[];
  private readonly counts: BusCounters = {
    cycles: 0,
    requests: 0,
    responses: 0,
    timeouts: 0,
    crcErrors: 0,
    exceptions: 0,
    malformed: 0,
    badValues: 0,
    otherErrors: 0,
    overruns: 0,
    silences: 0,
    opens: 0,
    openFailures: 0,
    reconnects: 0,
    sinkErrors: 0,
    internalErrors: 0,
  };
  private readonly exceptionCounts = new Map<number, number>();
  private readonly settings: ModbusBusSettings;
  private readonly periodMs: number;
  private readonly silentMs: number;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly problems: ProblemLog;
  private linkState: LinkState = 'offline';
  private online: boolean | undefined;
  private lastReason: string | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private opening: ModbusClient | undefined;
  private session: Session | undefined;

  constructor(private readonly options: ModbusScaleAdapterOptions) {
    this.name = options.device;
    this.dependsOn = options.dependsOn ?? [];
    this.settings = options.settings;
    this.periodMs = 1_000 / options.settings.pollHz;
    this.silentMs = options.silentMs ?? DEFAULT_SILENT_MS;
    this.backoff = new Backoff(options.backoff ?? DEVICE_BACKOFF);
    this.log = options.log.child({ device: options.device });
    this.problems = new ProblemLog(this.log);
    this.ticks = [];
    this.plates = [];
    for (const s of options.shelves) {
      const size = s.plates.reduce((n, p) => Math.max(n, p.index + 1), 0);
      const tick: ShelfTick = { shelf: s.shelf, at: 0, deviceTs: 0, seq: 0, raw: new Int32Array(size), valid: new Uint8Array(size) };
      this.ticks.push(tick);
      for (const p of s.plates) {
        this.plates.push({
          shelf: s.shelf,
          tick,
          index: p.index,
          unitId: p.unitId,
          register: p.register,
          failing: false,
          failures: 0,
          lastFailure: undefined,
          lastExceptionCode: 0,
          lastOther: undefined,
          lastFailureAt: 0,
        });
      }
    }
  }

  async start(): Promise<void> {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.backoff.reset();
    this.loop = this.run(abort.signal);
  }

  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    // Abandons a TCP connect still waiting for its timeout.
    this.opening?.destroy(() => undefined);
    await this.loop;
    this.loop = undefined;
    this.goOffline('stopped');
  }

  health(): ComponentHealth {
    const online = this.linkState === 'online';
    const failing = this.plates.filter((p) => p.failing);
    let detail: string | undefined;
    if (!online) detail = `${this.linkState}: ${this.reason ?? `waiting for ${this.options.url}`}`;
    else if (failing.length > 0) {
      const named = failing.slice(0, 4).map((p) => `${plateName(p)} (${describeFailure(p)})`);
      if (failing.length > named.length) named.push(`${failing.length - named.length} more`);
      detail = `${failing.length} of ${this.plates.length} plates failing: ${named.join(', ')}`;
    }
    const exceptions: Record<string, number> = {};
    for (const [code, n] of this.exceptionCounts) exceptions[MODBUS_EXCEPTION_NAMES[code] ?? `CODE_${code}`] = n;
    return {
      status: online && failing.length === 0 ? 'up' : 'degraded',
      ...(detail === undefined ? {} : { detail }),
      url: this.options.url,
      state: this.linkState,
      settings: this.settings,
      counters: this.counters(),
      lastSampleAt: this.ticks.reduce<number | null>((last, t) => (t.at > 0 && t.at > (last ?? 0) ? t.at : last), null),
      exceptions,
      plates: this.plates.map((p) => ({
        plate: plateName(p),
        unitId: p.unitId,
        register: p.register,
        ok: !p.failing,
        failures: p.failures,
        lastError: describeFailure(p) ?? null,
        lastErrorAt: p.lastFailure === undefined ? null : p.lastFailureAt,
      })),
    };
  }

  counters(): Record<string, number> {
    return { ...this.counts };
  }

  /** Why the bus is not online (the last open failure, loss or silence). */
  private get reason(): string | undefined {
    return this.linkState === 'online' ? undefined : this.lastReason;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let target: DeviceUrl;
    try {
      target = parseDeviceUrl(this.options.url);
      if (target.scheme !== 'serial' && target.scheme !== 'tcp') {
        throw new DeviceUrlError(`${this.options.url}: a Modbus RTU bus is serial://… or tcp://… (an RS-485 gateway passing RTU frames through)`);
      }
    } catch (err) {
      // A URL that cannot work will not start working: say so once and stay offline.
      this.log.error({ url: this.options.url, reason: describeError(err) }, 'Modbus bus cannot be used');
      this.goOffline(describeError(err));
      return;
    }
    await reconnectLoop<ModbusClient>(
      {
        open: () => {
          this.linkState = 'connecting';
          return this.connect(target);
        },
        serve: (client, s) => this.poll(client, s),
        close: (client) => this.closeQuietly(client),
        openFailed: (reason) => {
          this.counts.openFailures += 1;
          if (this.online !== false) this.log.warn({ url: this.options.url, reason }, 'Modbus bus cannot be opened; retrying in the background');
          this.goOffline(reason);
        },
        opened: (reconnect) => {
          this.counts.opens += 1;
          if (reconnect) this.counts.reconnects += 1;
        },
        lost: (reason) => {
          this.goOffline(reason);
          this.log.warn({ url: this.options.url, reason }, 'Modbus bus lost; reconnecting');
          return true;
        },
      },
      this.backoff,
      signal,
    );
    this.linkState = 'offline';
  }

  private async connect(target: Extract<DeviceUrl, { scheme: 'serial' | 'tcp' }>): Promise<ModbusClient> {
    const client = new ModbusSerial.default();
    client.on('error', (err: unknown) => this.lost(client, `connection lost: ${errorText(err)}`));
    client.on('close', () => this.lost(client, 'connection lost: port closed'));
    this.opening = client;
    try {
      if (target.scheme === 'serial') await client.connectRTUBuffered(target.path, { baudRate: target.baudRate });
      // modbus-serial's "telnet" port is raw RTU frames over a socket; its TcpRTUBuffered port speaks Modbus TCP.
      else await client.connectTelnet(target.host, { port: target.port, timeout: CONNECT_TIMEOUT_MS });
    } catch (err) {
      client.destroy(() => undefined);
      throw new Error(`${this.options.url}: cannot open: ${errorText(err)}`, { cause: err });
    } finally {
      this.opening = undefined;
    }
    client.setTimeout(this.settings.timeoutMs);
    return client;
  }

  /** Resolves with why the connection must be reopened, or undefined when the adapter stops. */
  private poll(client: ModbusClient, signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const now = performance.now();
      const session: Session = {
        client,
        signal,
        onAbort: () => this.end(session, undefined),
        cursor: 0,
        inFlight: false,
        answered: false,
        lastAnswerAt: now,
        nextCycleAt: now,
        timer: undefined,
        ended: false,
        reason: undefined,
        done: resolve,
      };
      this.session = session;
      signal.addEventListener('abort', session.onAbort, { once: true });
      this.startCycle();
    });
  }

  private lost(client: ModbusClient, reason: string): void {
    const session = this.session;
    if (session?.client === client) this.end(session, reason);
  }

  /** A request in flight is let finish (its own timeout bounds it), so nothing is left behind. */
  private end(session: Session, reason: string | undefined): void {
    if (session.ended) return;
    session.ended = true;
    session.reason = reason;
    clearTimeout(session.timer);
    session.timer = undefined;
    if (!session.inFlight) this.finish(session);
  }

  private finish(session: Session): void {
    if (this.session === session) this.session = undefined;
    session.signal.removeEventListener('abort', session.onAbort);
    session.done(session.reason);
  }

  private readonly startCycle = (): void => {
    const session = this.session;
    if (!session || session.ended) return;
    session.cursor = 0;
    this.continueCycle();
  };

  private request(session: Session): void {
    const plate = this.plates[session.cursor]!;
    session.inFlight = true;
    this.counts.requests += 1;
    try {
      if (this.settings.registers === 'input') session.client.writeFC4(plate.unitId, plate.register, 2, this.onReply);
      else session.client.writeFC3(plate.unitId, plate.register, 2, this.onReply);
    } catch (err) {
      if (session.inFlight) this.onReply(err, undefined);
    }
  }

  /** modbus-serial calls it exactly once per request: with the answer, or with why there is none. */
  private readonly onReply = (err: unknown, res: { data: number[] } | undefined): void => {
    const session = this.session;
    if (!session?.inFlight) {
      this.counts.internalErrors += 1;
      this.problems.report({}, 'Modbus answer arrived with no request in flight; ignored');
      return;
    }
    session.inFlight = false;
    const plate = this.plates[session.cursor]!;
    if (session.ended) {
      // The bus went away (or the adapter stops) while this request waited: not the plate's fault.
      plate.tick.valid[plate.index] = 0;
      return this.finish(session);
    }
    let timedOut = false;
    try {
      timedOut = this.record(session, plate, err, res);
    } catch (e) {
      this.counts.internalErrors += 1;
      plate.tick.valid[plate.index] = 0;
      this.problems.report({ err: e }, 'handling a Modbus answer threw; the plate is invalid for this cycle');
    }
    if (session.ended) return this.finish(session);
    session.cursor += 1;
    // Never the next request from inside this callback: modbus-serial's socket port resets its
    // expected answer right after it returns, and would lose the next one.
    if (timedOut) session.timer = setTimeout(this.continueCycle, this.quietAfterTimeout(plate, session.cursor));
    else queueMicrotask(this.continueCycle);
  };

  /** How long the bus stays quiet after `plate` timed out, before the request at `next` (see LATE_ANSWER_GUARD_MS). */
  private quietAfterTimeout(plate: PolledPlate, next: number): number {
    const sameUnit = (this.plates[next] ?? this.plates[0])!.unitId === plate.unitId;
    return sameUnit ? Math.max(LATE_ANSWER_GUARD_MS, this.settings.timeoutMs) : Math.min(LATE_ANSWER_GUARD_MS, this.settings.timeoutMs);
  }

  private readonly continueCycle = (): void => {
    const session = this.session;
    if (!session || session.ended) return;
    session.timer = undefined;
    if (session.cursor < this.plates.length) this.request(session);
    else this.completeCycle(session);
  };

  /** True when the request timed out. */
  private record(session: Session, plate: PolledPlate, err: unknown, res: { data: number[] } | undefined): boolean {
    const { tick, index } = plate;
    if (err === null || err === undefined) {
      this.answered(session);
      const first = res?.data[0];
      const second = res?.data[1];
      if (first === undefined || second === undefined) {
        this.counts.malformed += 1;
        this.fail(plate, 'malformed', err);
        return false;
      }
      const value = decodeReading(first, second, this.settings.format, this.settings.wordOrder);
      if (Number.isNaN(value)) {
        this.counts.badValues += 1;
        this.fail(plate, 'bad-value', err);
        return false;
      }
      this.counts.responses += 1;
      tick.raw[index] = value;
      tick.valid[index] = 1;
      if (plate.failing) {
        plate.failing = false;
        this.log.info({ plate: plateName(plate), unitId: plate.unitId }, 'load-cell transmitter answers again');
      }
      return false;
    }
    const failure = classifyModbusError(err);
    switch (failure) {
      case 'port':
        tick.valid[index] = 0;
        this.end(session, 'connection lost: port not open');
        return false;
      case 'timeout':
        this.counts.timeouts += 1;
        this.fail(plate, failure, err);
        if (performance.now() - session.lastAnswerAt >= this.silentMs) {
          this.counts.silences += 1;
          this.end(session, `no answer on the bus for ${this.silentMs} ms`);
        }
        return true;
      case 'exception': {
        this.answered(session);
        this.counts.exceptions += 1;
        const code = (err as { modbusCode: number }).modbusCode;
        this.exceptionCounts.set(code, (this.exceptionCounts.get(code) ?? 0) + 1);
        plate.lastExceptionCode = code;
        break;
      }
      case 'crc':
        // Garbled bytes still prove something on the bus is talking.
        this.answered(session);
        this.counts.crcErrors += 1;
        break;
      case 'malformed':
        this.answered(session);
        this.counts.malformed += 1;
        break;
      case 'other':
        this.counts.otherErrors += 1;
        plate.lastOther = errorText(err);
        break;
    }
    this.fail(plate, failure, err);
    return false;
  }

  private fail(plate: PolledPlate, failure: PlateFailure, err: unknown): void {
    plate.tick.valid[plate.index] = 0;
    plate.failures += 1;
    plate.lastFailure = failure;
    plate.lastFailureAt = this.options.clock.now();
    if (plate.failing) return;
    plate.failing = true;
    this.problems.report({ plate: plateName(plate), unitId: plate.unitId, register: plate.register, failure: describeFailure(plate), err }, 'load-cell transmitter gives no reading');
  }

  private answered(session: Session): void {
    session.lastAnswerAt = performance.now();
    if (session.answered) return;
    session.answered = true;
    // An answer proves the bus alive: the back-off starts over if it stays so.
    this.backoff.up();
    this.goOnline();
  }

  private completeCycle(session: Session): void {
    const at = this.options.clock.now();
    const seq = this.counts.cycles & 0xffff;
    this.counts.cycles += 1;
    for (const tick of this.ticks) {
      tick.at = at;
      tick.seq = seq;
      try {
        this.options.sink(tick);
      } catch (err) {
        this.counts.sinkErrors += 1;
        this.problems.report({ err }, 'shelf tick sink threw; the adapter carries on');
      }
    }
    if (session.ended) return;
    session.nextCycleAt += this.periodMs;
    const now = performance.now();
    if (now > session.nextCycleAt) {
      // Never queue cycles on a half-duplex bus: start the next one now and keep its pace from here.
      this.counts.overruns += 1;
      session.nextCycleAt = now;
    }
    session.timer = setTimeout(this.startCycle, session.nextCycleAt - now);
  }

  private async closeQuietly(client: ModbusClient): Promise<void> {
    if (!client.isOpen) {
      client.destroy(() => undefined);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy(() => undefined);
        resolve();
      }, CLOSE_TIMEOUT_MS);
      client.close((err: unknown) => {
        clearTimeout(timer);
        if (err) this.log.debug({ reason: errorText(err) }, 'closing the Modbus bus reported an error');
        resolve();
      });
    });
  }

  private goOnline(): void {
    this.linkState = 'online';
    this.lastReason = undefined;
    if (this.online !== true) this.announce(true, undefined);
  }

  private goOffline(reason: string): void {
    this.linkState = 'offline';
    this.lastReason = reason;
    if (this.online !== false) this.announce(false, reason);
  }

  private announce(online: boolean, reason: string | undefined): void {
    this.online = online;
    this.options.bus.emit('device.availability', availability(this.options.device, 'scale', online, reason, this.options.clock.now()));
  }
}

function plateName(p: PolledPlate): string {
  return `${p.shelf}.${p.index + 1}`;
}

function describeFailure(p: PolledPlate): string | undefined {
  switch (p.lastFailure) {
    case undefined:
      return undefined;
    case 'timeout':
      return `unit ${p.unitId} did not answer`;
    case 'exception':
      return `exception ${p.lastExceptionCode} ${MODBUS_EXCEPTION_NAMES[p.lastExceptionCode] ?? 'UNKNOWN'}`;
    case 'crc':
      return 'CRC error';
    case 'malformed':
      return 'malformed answer';
    case 'bad-value':
      return 'value is not a usable count';
    case 'other':
      return p.lastOther ?? 'error';
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return describeError(err);
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : String(err);
}
