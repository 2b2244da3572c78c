/**
 * The inference worker thread: it owns the onnxruntime sessions. `session.run` in onnxruntime-node
 * computes on the calling thread, so on the main thread every inference would stall serial
 * devices, HTTP and the other cameras for its whole duration; here it stalls nobody.
 *
 * OpenCV stays out of this thread on purpose: the OpenCV binding cannot be loaded into a second
 * JavaScript context of the same process without aborting it.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { FromWorker, TensorData, ToWorker } from './inference-protocol.js';
import { describeInputs } from './model-session.js';

if (!parentPort) throw new Error('inference-host must run in a worker thread');
const port = parentPort;

const sessions = new Map<number, ort.InferenceSession>();
let nextSession = 1;

function reply(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'load': {
      const session = await ort.InferenceSession.create(message.spec.modelPath, {
        logSeverityLevel: 3,
        graphOptimizationLevel: 'all',
        intraOpNumThreads: message.spec.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
      const id = nextSession++;
      sessions.set(id, session);
      reply({ type: 'loaded', job: message.job, session: id, inputs: describeInputs(session), outputNames: [...session.outputNames] });
      return;
    }
    case 'run': {
      const session = sessions.get(message.session);
      if (!session) throw new Error(`no session ${message.session}`);
      const { data, dims } = message.input;
      const feeds = { [message.inputName]: new ort.Tensor('float32', data, dims) };
      const started = performance.now();
      const results = await session.run(feeds, message.outputs as string[]);
      const runMs = performance.now() - started;
      const outputs: Record<string, TensorData> = {};
      const transfer: ArrayBuffer[] = [data.buffer as ArrayBuffer];
      for (const name of message.outputs) {
        const tensor = results[name];
        if (!tensor || tensor.type !== 'float32') throw new Error(`output ${name} is missing or not float32`);
        const values = tensor.data as Float32Array;
        outputs[name] = { data: values, dims: tensor.dims };
        if (!transfer.includes(values.buffer as ArrayBuffer)) transfer.push(values.buffer as ArrayBuffer);
      }
      reply({ type: 'ran', job: message.job, input: data, outputs, runMs }, transfer);
      return;
    }
    case 'release': {
      await sessions.get(message.session)?.release();
      sessions.delete(message.session);
      reply({ type: 'released', job: message.job });
      return;
    }
  }
}

port.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => {
    reply({ type: 'failed', job: message.job, message: err instanceof Error ? err.message : String(err) });
  });
});
