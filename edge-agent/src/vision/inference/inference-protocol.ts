/** Messages between the agent and its inference worker thread. Tensor data moves by transfer, never by copy. */

export interface SessionSpec {
  modelPath: string;
  intraOpThreads: number;
}

/** What a model says about one of its inputs; `type` and `shape` are unknown for non-tensor inputs. */
export interface ModelInputInfo {
  name: string;
  type: string | undefined;
  shape: readonly (number | string)[] | undefined;
}

export interface TensorData {
  data: Float32Array;
  dims: readonly number[];
}

export type ToWorker =
  | { type: 'load'; job: number; spec: SessionSpec }
  | { type: 'run'; job: number; session: number; inputName: string; input: TensorData; outputs: readonly string[] }
  | { type: 'release'; job: number; session: number };

export type FromWorker =
  | { type: 'loaded'; job: number; session: number; inputs: ModelInputInfo[]; outputNames: string[] }
  | {
      type: 'ran';
      job: number;
      /** The caller's input buffer, handed back so it can be filled again. */
      input: Float32Array;
      outputs: Record<string, TensorData>;
      /** Time spent in `session.run` alone. */
      runMs: number;
    }
  | { type: 'released'; job: number }
  | { type: 'failed'; job: number; message: string };
