/**
 * `edge-agent sim … --out DIR`: runs a simulated store day as fast as it can be computed and
 * writes it as a recording — serial captures, encoded camera video, calibration and ground
 * truth — without running the agent.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import { RecordingWriter } from '../recording/recording-writer.js';
import { calibrationTruth, simCameraRig } from './cameras/sim-camera.js';
import { SceneRenderer } from './render/scene-renderer.js';
import { STOCK_TRUTH_STREAMS, TRUTH_STREAMS } from './ground-truth.js';
import { stockKnobs, type Scenario } from './scenario.js';
import { StoreWorld } from './store-world.js';
import { VideoWriter } from './video/video-writer.js';

export interface SimulationSummary {
  out: string;
  seed: number;
  profile: string;
  startedAt: number;
  durationSeconds: number;
  shoppers: number;
  receipts: number;
  weightEvents: number;
  gateEvents: number;
  serialBytes: number;
  frames: Record<string, number>;
  wallSeconds: number;
}

export async function recordSimulation(options: { config: StoreConfig; scenario: Scenario; out: string; video: boolean; createdBy: string }): Promise<SimulationSummary> {
  const wallStart = performance.now();
  const { config, scenario, out } = options;
  const world = new StoreWorld({ config, scenario, cameras: options.video });
  const writer = new RecordingWriter(out, { store: config, startedAt: world.startAt, createdBy: options.createdBy, scenario });
  writer.calibration('scales', {
    plates: world.controllers.flatMap((c) =>
      c.hardware.map((h) => ({
        plate: h.plate,
        zeroCounts: h.zeroCounts,
        countsPerGram: h.calibratedCountsPerGram,
        operator: 'simulator',
        calibratedAt: new Date(world.startAt).toISOString(),
      })),
    ),
  });
  for (const stream of TRUTH_STREAMS) writer.declareTruth(stream);
  if (stockKnobs(scenario.knobs).truth) for (const stream of STOCK_TRUTH_STREAMS) writer.declareTruth(stream);
  for (const c of world.controllers) for (const n of c.noise) writer.truth('plate-noise', n);

  const cameras = new Map<string, { writer: VideoWriter; frame: Buffer; frames: number }>();
  let renderer: SceneRenderer | undefined;
  if (options.video && config.cameras.length > 0) {
    const rig = simCameraRig(world.layout);
    renderer = await SceneRenderer.create(world.layout, rig, config.planogram.products);
    for (const cam of rig) {
      const paths = writer.video({ camera: cam.id, width: cam.width, height: cam.height, fps: cam.fps });
      const video = new VideoWriter({ file: paths.file, framesFile: paths.frames, width: cam.width, height: cam.height, fps: cam.fps });
      await video.start();
      cameras.set(cam.id, { writer: video, frame: Buffer.alloc(cam.width * cam.height * 3), frames: 0 });
      const truth = calibrationTruth(cam, world.layout);
      if (truth) writer.calibration({ camera: cam.id }, truth);
    }
  }

  const counts = { serialBytes: 0, weightEvents: 0, receipts: 0, gateEvents: 0, shoppers: 0 };
  try {
    await world.runUntil(Infinity, {
      serial(device, at, bytes) {
        counts.serialBytes += bytes.length;
        writer.serial({ device: device.device, kind: device.kind, url: device.url }, at, bytes);
      },
      async frame(camera, at, snapshot) {
        const cam = cameras.get(camera);
        if (!cam || !renderer) return;
        renderer.render(camera, snapshot, cam.frame);
        cam.frames += 1;
        await cam.writer.write(cam.frame, at);
      },
      truth(stream, record) {
        if (stream === 'weight-events') counts.weightEvents += 1;
        else if (stream === 'receipts') counts.receipts += 1;
        else if (stream === 'gate-events') counts.gateEvents += 1;
        else if (stream === 'carts') counts.shoppers += 1;
        writer.truth(stream, record);
      },
    });
  } finally {
    for (const cam of cameras.values()) await cam.writer.finish();
    writer.finish(world.now);
  }
  return {
    out,
    seed: scenario.seed,
    profile: scenario.profile,
    startedAt: world.startAt,
    durationSeconds: Math.round(world.now - world.startAt) / 1000,
    ...counts,
    frames: Object.fromEntries([...cameras].map(([id, c]) => [id, c.frames])),
    wallSeconds: Math.round(performance.now() - wallStart) / 1000,
  };
}
