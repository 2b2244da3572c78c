import { sleep } from '../../backoff.js';
import { CaptureReader, type CaptureRecord } from '../../recording/capture-file.js';
import type { ReplayScheduler, ReplaySource } from '../../recording/replay-scheduler.js';
import type { ByteTransport } from './byte-transport.js';

/**
 * A recorded capture played back as if the device were sending it. Under a replay scheduler the
 * records arrive in recording time, interleaved with every other source; on its own (a
 * `replay://` URL in a live configuration) it plays at real-time pace.
 */
export class ReplayTransport implements ByteTransport, ReplaySource {
  readonly finite = true;
  private reader: CaptureReader | undefined;
  private nextRecord: CaptureRecord | undefined;
  private dataListener: (chunk: Buffer, receivedAt: number) => void = () => undefined;
  private closeListener: (reason: Error | undefined) => void = () => undefined;
  private pacer: AbortController | undefined;

  constructor(
    readonly url: string,
    private readonly file: string,
    private readonly scheduler?: ReplayScheduler,
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {}

  get name(): string {
    return this.url;
  }

  async open(): Promise<void> {
    this.reader = new CaptureReader(this.file);
    this.nextRecord = this.reader.next();
    if (this.scheduler) {
      this.scheduler.add(this);
      // An empty capture ends at once, but only once whoever opened it listens.
      if (!this.nextRecord) setImmediate(() => this.finish());
    } else void this.paceInRealTime();
  }

  async write(): Promise<void> {
    // A recording cannot be talked to; commands sent to it are dropped.
  }

  async close(): Promise<void> {
    this.pacer?.abort();
    this.reader?.close();
    this.reader = undefined;
    this.nextRecord = undefined;
  }

  onData(listener: (chunk: Buffer, receivedAt: number) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (reason: Error | undefined) => void): void {
    this.closeListener = listener;
  }

  peek(): number | undefined {
    return this.nextRecord?.at;
  }

  deliver(): void {
    const record = this.nextRecord;
    if (!record || !this.reader) return;
    this.nextRecord = this.reader.next();
    this.dataListener(record.data, record.at);
    if (!this.nextRecord) this.finish();
  }

  skip(): void {
    if (!this.nextRecord || !this.reader) return;
    this.nextRecord = this.reader.next();
    if (!this.nextRecord) this.finish();
  }

  private finish(): void {
    if (this.reader?.problem) this.onProblem(this.reader.problem);
    this.closeListener(undefined);
  }

  private async paceInRealTime(): Promise<void> {
    this.pacer = new AbortController();
    const signal = this.pacer.signal;
    // Not before the opener listens: records due at once would be delivered inside open().
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) return;
    const first = this.nextRecord?.at;
    if (first === undefined) return this.finish();
    const wallStart = Date.now();
    while (this.nextRecord && !signal.aborted) {
      const due = this.nextRecord.at - first - (Date.now() - wallStart);
      if (due > 1 && !(await sleep(due, signal))) return;
      const record = this.nextRecord;
      this.nextRecord = this.reader?.next();
      this.dataListener(record.data, wallStart + (record.at - first));
    }
    if (!signal.aborted) this.finish();
  }
}
