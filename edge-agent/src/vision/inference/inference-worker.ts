import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../paths.js';
import type { FromWorker, ModelInputInfo, SessionSpec, TensorData, ToWorker } from './inference-protocol.js';

export interface InferenceResult {
  /** The input buffer, back from the worker for the next frame. */
  input: Float32Array;
  outputs: Record<string, TensorData>;
  runMs: number;
}

export interface LoadedSession {
  inputs: ModelInputInfo[];
  outputNames: string[];
}

interface Pending {
  resolve: (message: FromWorker) => void;
  reject: (err: Error) => void;
}

/** The compiled worker script: next to this module when running from `dist`, else in `dist` (tests run the sources). */
function hostScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(here, '..', 'inference-host.js');
  const built = join(packageRoot(), 'dist', 'edge-agent', 'src', 'vision', 'inference', 'inference-host.js');
  if (!existsSync(built)) throw new Error(`${built} not found: run npm run build`);
  return built;
}

/**
 * The agent's side of the inference thread. A worker that dies (out of memory, a native abort in
 * onnxruntime) fails the calls in flight; the next call starts a new worker and sessions reload
 * themselves, so one bad frame costs that frame, never the agent.
 */
export class InferenceWorker {
  private worker: Worker | undefined;
  private generation = 0;
  private nextJob = 1;
  private readonly pending = new Map<number, Pending>();
  /** Replies still awaited, so close() can let them arrive first. */
  private readonly calls = new Set<Promise<FromWorker>>();
  private readonly sessions = new Map<RemoteSession, { generation: number; id: number }>();
  private closed = false;
  restarts = 0;
  lastError: string | undefined;

  /** Loads a model into the worker. The session reloads itself if the worker is replaced. */
  async load(spec: SessionSpec): Promise<RemoteSession> {
    const session = new RemoteSession(this, spec);
    await this.ensureLoaded(session);
    return session;
  }

  /** @internal */
  async ensureLoaded(session: RemoteSession): Promise<{ id: number; info: LoadedSession }> {
    const known = this.sessions.get(session);
    if (known && known.generation === this.generation && this.worker) return { id: known.id, info: session.info! };
    const reply = await this.call({ type: 'load', job: 0, spec: session.spec });
    if (reply.type !== 'loaded') throw new Error('inference worker answered a load with ' + reply.type);
    const info: LoadedSession = { inputs: reply.inputs, outputNames: reply.outputNames };
    this.sessions.set(session, { generation: this.generation, id: reply.session });
    session.info = info;
    return { id: reply.session, info };
  }

  /** @internal */
  async run(session: RemoteSession, inputName: string, input: TensorData, outputs: readonly string[]): Promise<InferenceResult> {
    // Posted before the first await when the session is loaded: the caller may work on while the worker infers.
    const known = this.sessions.get(session);
    const id = known && known.generation === this.generation && this.worker ? known.id : (await this.ensureLoaded(session)).id;
    const reply = await this.call({ type: 'run', job: 0, session: id, inputName, input, outputs }, [input.data.buffer as ArrayBuffer]);
    if (reply.type !== 'ran') throw new Error('inference worker answered a run with ' + reply.type);
    return { input: reply.input, outputs: reply.outputs, runMs: reply.runMs };
  }

  /** @internal */
  async release(session: RemoteSession): Promise<void> {
    const known = this.sessions.get(session);
    this.sessions.delete(session);
    if (known && known.generation === this.generation && this.worker) await this.call({ type: 'release', job: 0, session: known.id });
  }

  async close(): Promise<void> {
    this.closed = true;
    // Stopping the thread inside onnxruntime's session.run aborts the whole process (the binding
    // throws a C++ exception nobody catches), so the calls in flight are answered first.
    await Promise.allSettled([...this.calls]);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error('inference worker closed'));
  }

  /**
   * @internal For tests: ends the thread as a crash would; calls posted to it fail and the next
   * call starts a new worker. Only while no session.run executes in it (see close()).
   */
  async terminateThread(): Promise<void> {
    await this.worker?.terminate();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private call(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.closed) return Promise.reject(new Error('inference worker closed'));
    const worker = this.spawnIfNeeded();
    const job = this.nextJob++;
    const reply = new Promise<FromWorker>((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      try {
        worker.postMessage({ ...message, job }, transfer);
      } catch (err) {
        this.pending.delete(job);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.calls.add(reply);
    const settled = (): void => void this.calls.delete(reply);
    reply.then(settled, settled);
    return reply;
  }

  private spawnIfNeeded(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(hostScript());
    const generation = ++this.generation;
    if (generation > 1) this.restarts += 1;
    worker.on('message', (message: FromWorker) => {
      const waiter = this.pending.get(message.job);
      if (!waiter) return;
      this.pending.delete(message.job);
      if (this.pending.size === 0) worker.unref();
      if (message.type === 'failed') waiter.reject(new Error(message.message));
      else waiter.resolve(message);
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.lastError = why;
      this.failAll(new Error(`inference worker stopped: ${why}`));
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    // An idle worker must not keep a finished CLI command alive; one with work in flight must.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(err);
  }
}

/** A model loaded in the inference worker. */
export class RemoteSession {
  info: LoadedSession | undefined;

  constructor(
    private readonly worker: InferenceWorker,
    readonly spec: SessionSpec,
  ) {}

  run(inputName: string, input: TensorData, outputs: readonly string[]): Promise<InferenceResult> {
    return this.worker.run(this, inputName, input, outputs);
  }

  release(): Promise<void> {
    return this.worker.release(this);
  }
}
