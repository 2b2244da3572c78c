import type { StoreClock } from '../../clock.js';

/**
 * One byte-stream connection to a device: a serial port, a ser2net TCP socket, a recorded
 * capture or a simulated device. Adapters own exactly one and never look past this interface.
 */
export interface ByteTransport {
  readonly url: string;
  /** True for recordings: when one closes it has ended, and reopening would replay it again. */
  readonly finite: boolean;
  /** Opens the connection; rejects when the device cannot be opened now (the caller retries). */
  open(): Promise<void>;
  write(data: Buffer): Promise<void>;
  /** Closes on purpose; `onClose` is not called for it. */
  close(): Promise<void>;
  /**
   * Bytes as they arrive, stamped with the store clock at reception. The chunk is only valid
   * during the call: copy what you keep.
   */
  onData(listener: (chunk: Buffer, receivedAt: number) => void): void;
  /** The open connection was lost (unplugged, peer closed, read error). */
  onClose(listener: (reason: Error | undefined) => void): void;
}

/** What the transport factory needs besides the URL. */
export interface TransportContext {
  clock: StoreClock;
  /** Maps `sim://name` to the real URL the running simulator gave that device (a pty path). */
  resolveSim?: (name: string) => string | undefined;
  /** Drives `replay://` captures in recording time; without it they play at real-time pace. */
  replay?: import('../../recording/replay-scheduler.js').ReplayScheduler;
}
