import { sleep, type Backoff } from '../backoff.js';
import { describeError } from '../errors.js';

/** What a connection-owning adapter does at each step of staying connected. */
export interface ReconnectSteps<C> {
  /** Opens a connection; throws when the device cannot be reached now. */
  open(): Promise<C>;
  /** Uses an open connection until it is lost (resolves with why) or the loop stops (resolves undefined). */
  serve(connection: C, signal: AbortSignal): Promise<string | undefined>;
  close(connection: C): Promise<void>;
  /** An open attempt failed; the loop waits a back-off delay and tries again. */
  openFailed(reason: string): void;
  /** A connection opened; `reconnect` is false the first time. */
  opened(reconnect: boolean): void;
  /** An open connection was lost; return false to stop instead of reconnecting (a recording that ended). */
  lost(reason: string, connection: C): boolean;
}

/**
 * Open, serve, and after a failure or a loss wait the back-off delay and open again — until the
 * signal aborts. One loop for every adapter, so they all reconnect alike.
 */
export async function reconnectLoop<C>(steps: ReconnectSteps<C>, backoff: Backoff, signal: AbortSignal): Promise<void> {
  let everOpened = false;
  while (!signal.aborted) {
    let connection: C;
    try {
      connection = await steps.open();
    } catch (err) {
      if (signal.aborted) break;
      steps.openFailed(describeError(err));
      if (!(await sleep(backoff.next(), signal))) break;
      continue;
    }
    if (signal.aborted) {
      await steps.close(connection);
      break;
    }
    steps.opened(everOpened);
    everOpened = true;
    const lost = await steps.serve(connection, signal);
    await steps.close(connection);
    if (lost === undefined || !steps.lost(lost, connection)) break;
    if (!(await sleep(backoff.next(), signal))) break;
  }
}
