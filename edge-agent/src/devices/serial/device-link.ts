import { Backoff, DEVICE_BACKOFF, type BackoffPolicy } from '../../backoff.js';
import { reconnectLoop } from '../reconnect-loop.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ProblemLog } from '../problem-log.js';
import type { ByteTransport } from './byte-transport.js';

export type LinkState = 'connecting' | 'online' | 'offline';

export const DEFAULT_STALL_MS = 3_000;

export interface DeviceLinkOptions {
  url: string;
  /** Makes the transport; called once, lazily, and again only while it keeps throwing. */
  transport: (url: string) => ByteTransport;
  log: Logger;
  /** The one consumer of the bytes. */
  onData: (chunk: Buffer, receivedAt: number) => void;
  /** Called only when availability changes (the first failure counts as a change). */
  onAvailability?: (online: boolean, reason: string | undefined) => void;
  /**
   * A connection opened, before any of its bytes: where a device that only talks when told to
   * (an RFID module) is told to, on every reconnect. `write` works from here on.
   */
  onOpen?: () => void;
  /**
   * No bytes for this long on an open connection is a stall: the link closes and reopens it.
   * 0 turns stall detection off, for devices that only talk when something happens (gates).
   */
  stallMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  /**
   * Only decoded frames prove a streaming device alive (the adapter calls `alive()` for each):
   * a controller sending noise — a wrong baud rate, a damaged RS-485 line — stalls and is reopened
   * instead of staying online on garbage.
   */
  framed?: boolean;
}

export interface DeviceLinkCounters {
  opens: number;
  openFailures: number;
  /** Successful re-opens after the connection was lost or stalled. */
  reconnects: number;
  stalls: number;
  /** Exceptions thrown by the data listener, contained here. */
  listenerErrors: number;
}

interface Connection {
  transport: ByteTransport;
  /** A streaming device is online once bytes flow, not merely once its port opens. */
  streaming: boolean;
  gotData: boolean;
  lastDataAt: number;
  /** When the chunk being handled arrived (one clock read per chunk, however many frames it holds). */
  chunkAt: number;
  end: (reason: string | undefined) => void;
}

/**
 * One device connection kept alive: opens the transport with back-off, reopens it after it is
 * lost or stalls (never for a finished recording), and reports availability only when it
 * changes. `start()` returns at once; an absent device is retried in the background.
 */
export class DeviceLink {
  readonly counters: DeviceLinkCounters = { opens: 0, openFailures: 0, reconnects: 0, stalls: 0, listenerErrors: 0 };
  private linkState: LinkState = 'offline';
  private online: boolean | undefined;
  private lastReason: string | undefined;
  private transport: ByteTransport | undefined;
  private connection: Connection | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private readonly stallMs: number;
  private readonly problems: ProblemLog;

  constructor(private readonly options: DeviceLinkOptions) {
    this.backoff = new Backoff(options.backoff ?? DEVICE_BACKOFF, options.random);
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.problems = new ProblemLog(options.log);
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** Why the link is not online (the last open failure, loss or stall). */
  get reason(): string | undefined {
    return this.linkState === 'online' ? undefined : this.lastReason;
  }

  start(): void {
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
    // Also abandons an open still in progress (a TCP connect waiting for its timeout).
    if (this.transport) await this.closeQuietly(this.transport);
    await this.loop;
    this.loop = undefined;
    this.goOffline('stopped');
  }

  write(data: Buffer): Promise<void> {
    const transport = this.connection?.transport;
    if (!transport) return Promise.reject(new Error(`${this.options.url}: not connected`));
    return transport.write(data);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { log, url } = this.options;
    await reconnectLoop<ByteTransport>(
      {
        open: async () => {
          this.linkState = 'connecting';
          const transport = (this.transport ??= this.makeTransport());
          await transport.open();
          return transport;
        },
        serve: (transport, s) => this.watch(transport, s),
        close: (transport) => this.closeQuietly(transport),
        openFailed: (reason) => {
          this.counters.openFailures += 1;
          if (this.online !== false) log.warn({ url, reason }, 'device cannot be opened; retrying in the background');
          this.goOffline(reason);
        },
        opened: (reconnect) => {
          this.counters.opens += 1;
          if (reconnect) this.counters.reconnects += 1;
        },
        lost: (reason, transport) => {
          if (transport.finite) {
            this.goOffline('recording ended');
            log.info({ url }, 'recording ended');
            return false;
          }
          this.goOffline(reason);
          log.warn({ url, reason }, 'device connection lost; reconnecting');
          return true;
        },
      },
      this.backoff,
      signal,
    );
    this.linkState = 'offline';
  }

  /** Resolves with why the open connection ended, or undefined when the link is stopping. */
  private watch(transport: ByteTransport, signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const streaming = this.stallMs > 0 && !transport.finite;
      let watchdog: NodeJS.Timeout | undefined;
      const onAbort = () => end(undefined);
      const end = (reason: string | undefined) => {
        if (this.connection !== connection) return;
        this.connection = undefined;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        resolve(reason);
      };
      const openedAt = performance.now();
      const connection: Connection = { transport, streaming, gotData: false, lastDataAt: openedAt, chunkAt: openedAt, end };
      this.connection = connection;
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        this.options.onOpen?.();
      } catch (err) {
        this.options.log.error({ err, url: this.options.url }, 'open listener threw');
      }
      if (streaming) {
        watchdog = setInterval(() => {
          if (performance.now() - connection.lastDataAt < this.stallMs) return;
          this.counters.stalls += 1;
          end(`${this.options.framed ? "no readable data" : "no data"} for ${this.stallMs} ms`);
        }, Math.max(10, Math.min(1_000, this.stallMs / 4)));
      } else {
        this.backoff.up();
        this.goOnline();
      }
    });
  }

  private makeTransport(): ByteTransport {
    const transport = this.options.transport(this.options.url);
    transport.onData((chunk, receivedAt) => this.received(transport, chunk, receivedAt));
    transport.onClose((reason) => {
      const connection = this.connection;
      if (connection?.transport === transport) connection.end(reason ? describeError(reason) : 'closed');
    });
    return transport;
  }

  /** The chunk being handled held a good frame (adapters of `framed` links call this after decoding it). */
  alive(): void {
    const connection = this.connection;
    if (!connection) return;
    connection.lastDataAt = connection.chunkAt;
    if (connection.gotData) return;
    connection.gotData = true;
    // The device is alive: the back-off starts over if it stays so.
    this.backoff.up();
    if (connection.streaming) this.goOnline();
  }

  private received(transport: ByteTransport, chunk: Buffer, receivedAt: number): void {
    const connection = this.connection;
    if (connection?.transport !== transport) return;
    connection.chunkAt = performance.now();
    if (!this.options.framed) this.alive();
    try {
      this.options.onData(chunk, receivedAt);
    } catch (err) {
      this.counters.listenerErrors += 1;
      this.problems.report({ url: this.options.url, err }, 'device data listener threw; the link carries on');
    }
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
    try {
      this.options.onAvailability?.(online, reason);
    } catch (err) {
      this.options.log.error({ err, url: this.options.url }, 'availability listener threw');
    }
  }

  private async closeQuietly(transport: ByteTransport): Promise<void> {
    try {
      await transport.close();
    } catch (err) {
      this.options.log.warn({ err, url: this.options.url }, 'closing the device failed');
    }
  }
}
