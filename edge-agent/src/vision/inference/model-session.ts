/**
 * An onnxruntime model as the vision stages use it, wherever it runs: in the inference worker
 * (the agent: `session.run` computes on the calling thread and would stall the event loop) or on
 * the calling thread (command-line tools and tests). Input tensors travel to the worker and back
 * by transfer; a run that fails in the worker loses its input buffer, which callers re-create.
 */
import * as ort from 'onnxruntime-node';
import { EdgeError, ErrorCode } from '../../errors.js';
import type { ModelInputInfo, TensorData } from './inference-protocol.js';
import type { InferenceWorker, RemoteSession } from './inference-worker.js';

export interface SessionRun {
  /** The input buffer, to be filled again (the same one for a local session). */
  input: Float32Array;
  outputs: Record<string, TensorData>;
  /** Milliseconds of `session.run` alone. */
  runMs: number;
}

export interface ModelSession {
  readonly modelPath: string;
  readonly inputs: readonly ModelInputInfo[];
  readonly outputNames: readonly string[];
  run(inputName: string, input: Float32Array, dims: readonly number[], outputs: readonly string[]): Promise<SessionRun>;
  release(): Promise<void>;
}

export interface ModelSessionOptions {
  /** onnxruntime threads inside one operator; default 1, leaving the other cores to the agent. */
  intraOpThreads?: number;
  /** Run in this worker; absent: on the calling thread. */
  worker?: InferenceWorker | undefined;
}

export function describeInputs(session: ort.InferenceSession): ModelInputInfo[] {
  return session.inputNames.map((name) => {
    const meta = session.inputMetadata.find((m) => m.name === name);
    return meta?.isTensor ? { name, type: meta.type, shape: meta.shape } : { name, type: undefined, shape: undefined };
  });
}

export async function openModelSession(modelPath: string, options: ModelSessionOptions = {}): Promise<ModelSession> {
  const intraOpThreads = options.intraOpThreads ?? 1;
  if (!Number.isInteger(intraOpThreads) || intraOpThreads < 1) throw new RangeError(`intraOpThreads must be a positive integer, got ${intraOpThreads}`);
  try {
    if (options.worker) {
      const remote = await options.worker.load({ modelPath, intraOpThreads });
      return new WorkerModelSession(modelPath, remote);
    }
    const session = await ort.InferenceSession.create(modelPath, {
      logSeverityLevel: 3,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    return new LocalModelSession(modelPath, session);
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionModelMismatch, `${modelPath}: onnxruntime cannot load it: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

class LocalModelSession implements ModelSession {
  readonly inputs: readonly ModelInputInfo[];
  readonly outputNames: readonly string[];

  constructor(
    readonly modelPath: string,
    private readonly session: ort.InferenceSession,
  ) {
    this.inputs = describeInputs(session);
    this.outputNames = [...session.outputNames];
  }

  async run(inputName: string, input: Float32Array, dims: readonly number[], outputs: readonly string[]): Promise<SessionRun> {
    const started = performance.now();
    const results = await this.session.run({ [inputName]: new ort.Tensor('float32', input, dims) }, outputs as string[]);
    const runMs = performance.now() - started;
    const out: Record<string, TensorData> = {};
    for (const name of outputs) {
      const tensor = results[name];
      if (!(tensor instanceof ort.Tensor) || !(tensor.data instanceof Float32Array)) {
        throw new EdgeError(ErrorCode.VisionModelMismatch, `${this.modelPath}: output "${name}" is not a float32 tensor`);
      }
      out[name] = { data: tensor.data, dims: tensor.dims };
    }
    return { input, outputs: out, runMs };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

class WorkerModelSession implements ModelSession {
  readonly inputs: readonly ModelInputInfo[];
  readonly outputNames: readonly string[];

  constructor(
    readonly modelPath: string,
    private readonly remote: RemoteSession,
  ) {
    this.inputs = remote.info?.inputs ?? [];
    this.outputNames = remote.info?.outputNames ?? [];
  }

  run(inputName: string, input: Float32Array, dims: readonly number[], outputs: readonly string[]): Promise<SessionRun> {
    return this.remote.run(inputName, { data: input, dims }, outputs);
  }

  release(): Promise<void> {
    return this.remote.release();
  }
}
