/**
 * `edge-agent bench shelf`: how many plate samples per second one core turns from bytes into
 * weight events — the whole shelf path of the agent (line decoder → shelf tick → calibration →
 * grams → zero tracking and event detection → item inference) — against what a store of 360
 * plates at 60 Hz produces in real time.
 */
import { EventBus } from '../bus.js';
import { VirtualClock } from '../clock.js';
import { ScaleAdapter } from '../devices/scale/scale-adapter.js';
import type { ByteTransport } from '../devices/serial/byte-transport.js';
import { silentLogger } from '../log.js';
import { PlateCalibrationTable } from '../shelf/plate-calibration.js';
import { facingsByPlate } from '../shelf/shelf-monitor.js';
import { ItemInference } from '../shelf/item-inference.js';
import { gramsPipeline } from '../shelf/shelf-pipeline.js';
import type { ShelfGramsTick } from '../shelf/shelf-tick.js';
import { WeightEventDetector } from '../shelf/weight-event-detector.js';
import { resolveScenario } from '../sim/scenario.js';
import { StoreWorld } from '../sim/store-world.js';
import { benchStore } from './bench-store.js';

/** Hands captured bytes to the adapter exactly as a port would, without a port. */
class CapturedBytes implements ByteTransport {
  readonly finite = true;
  private listener: (chunk: Buffer, at: number) => void = () => undefined;
  constructor(readonly url: string) {}
  async open(): Promise<void> {}
  async write(): Promise<void> {}
  async close(): Promise<void> {}
  onData(listener: (chunk: Buffer, at: number) => void): void {
    this.listener = listener;
  }
  onClose(): void {}
  feed(chunk: Buffer, at: number): void {
    this.listener(chunk, at);
  }
}

export interface ShelfBenchResult {
  plates: number;
  simulatedSeconds: number;
  samples: number;
  events: number;
  wallSeconds: number;
  samplesPerSecond: number;
  /** Samples per second divided by what the store produces in real time (plates × 60 Hz). */
  timesRealTime: number;
  nsPerSample: number;
  cpuUserSeconds: number;
  rssMb: number;
}

export async function benchShelf(options: { gondolas?: number; seconds?: number; repeats?: number } = {}): Promise<ShelfBenchResult> {
  const config = benchStore(options.gondolas ?? 10);
  const seconds = options.seconds ?? 60;
  const scenario = resolveScenario({ seed: 1, minutes: seconds / 60, shoppers: Math.max(1, Math.round(seconds / 6)), profile: 'busy' });
  const world = new StoreWorld({ config, scenario, cameras: false });
  // Capture every controller's bytes first, so only the agent's work is timed.
  const chunks = new Map<string, { at: number; bytes: Buffer }[]>();
  await world.runUntil(Infinity, {
    serial(device, at, bytes) {
      if (device.kind !== 'scale') return;
      let list = chunks.get(device.device);
      if (!list) chunks.set(device.device, (list = []));
      list.push({ at, bytes: Buffer.from(bytes) });
    },
    frame() {},
    truth() {},
  });
  const calibration = new PlateCalibrationTable(
    world.layout,
    new Map(world.controllers.flatMap((c) => c.hardware.map((h) => [h.plate, { id: 0, plate: h.plate, zeroCounts: h.zeroCounts, countsPerGram: h.calibratedCountsPerGram, knownMassGrams: null, operator: 'bench', calibratedAt: 0, source: 'bench' }]))),
  );
  const inference = new ItemInference(config.planogram.products);
  const facings = facingsByPlate(config);
  let events = 0;
  let samples = 0;
  const detectors = new Map<string, WeightEventDetector>();
  for (const shelf of world.layout.shelves.values()) {
    const names = shelf.plates.map((p) => facings.get(p.key) ?? `empty:${p.key}`);
    detectors.set(
      shelf.key,
      new WeightEventDetector(shelf.key, names, (change) => {
        events += 1;
        const perPlate: Record<string, number> = {};
        change.plateIndexes.forEach((i, k) => (perPlate[shelf.plates[i]!.key] = change.plateDeltas[k]!));
        inference.explain({ perPlate, deltaGrams: change.deltaGrams, noiseSigma: change.noiseSigma });
      }),
    );
  }
  const onGrams = (tick: ShelfGramsTick) => {
    samples += tick.grams.length;
    detectors.get(tick.shelf)!.push(tick);
  };
  const clock = new VirtualClock(world.startAt);
  const transports = new Map<string, CapturedBytes>();
  const adapters = world.controllers.map((c) => {
    const transport = new CapturedBytes(c.shelf.device);
    transports.set(c.device, transport);
    return new ScaleAdapter({
      device: c.device,
      shelf: c.shelf.key,
      url: c.shelf.device,
      plateCount: c.shelf.plates.length,
      transport: () => transport,
      clock,
      log: silentLogger(),
      bus: new EventBus(silentLogger()),
      sink: gramsPipeline(() => calibration, [onGrams]),
      stallMs: 0,
    });
  });
  for (const a of adapters) await a.start();
  await new Promise((r) => setImmediate(r));

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Devices interleaved in time as they would be on the wire.
  const lists = [...chunks.entries()].map(([device, list]) => ({ transport: transports.get(device)!, list, i: 0 }));
  for (;;) {
    let any = false;
    for (const l of lists) {
      const item = l.list[l.i];
      if (!item) continue;
      any = true;
      l.i += 1;
      l.transport.feed(item.bytes, item.at);
    }
    if (!any) break;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const a of adapters) await a.stop();
  const plates = world.layout.plates.size;
  const samplesPerSecond = samples / wall;
  return {
    plates,
    simulatedSeconds: Math.round((world.now - world.startAt) / 1000),
    samples,
    events,
    wallSeconds: round(wall, 3),
    samplesPerSecond: Math.round(samplesPerSecond),
    timesRealTime: round(samplesPerSecond / (plates * 60), 1),
    nsPerSample: round((wall * 1e9) / samples, 1),
    cpuUserSeconds: round(cpu.user / 1e6, 3),
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  };
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
