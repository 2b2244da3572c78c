/**
 * `edge-agent record`: captures a store's live feeds into a recording folder — every serial
 * device's bytes as they arrive, every camera through the same ffmpeg ingest the agent uses,
 * encoded at its detect size — so a problem seen in the store can be replayed at the desk.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RfidReaderConfig, StoreConfig } from '../../../device-config/schema.js';
import { R200_DEFAULT_REGION } from '../devices/rfid/rfid-reader-adapter.js';
import { encodeSetPower, encodeSetRegion, encodeStartPolling } from '../devices/rfid/r200-protocol.js';
import { EventBus } from '../bus.js';
import { LiveClock } from '../clock.js';
import { CameraIngest } from '../devices/camera/camera-ingest.js';
import type { CameraFrame } from '../devices/camera/frame.js';
import { DeviceLink } from '../devices/serial/device-link.js';
import { createTransport } from '../devices/serial/transport-factory.js';
import type { Logger } from '../log.js';
import { VideoWriter } from '../sim/video/video-writer.js';
import { RecordingWriter } from './recording-writer.js';

export interface RecordOptions {
  config: StoreConfig;
  out: string;
  /** Stops after this long; otherwise when the signal aborts. */
  seconds?: number;
  signal?: AbortSignal;
  log: Logger;
  createdBy: string;
  resolveSim?: (name: string) => string | undefined;
  /** Calibrations in force, written next to the captures (an importable calibration file). */
  calibration?: unknown;
}

export interface RecordSummary {
  out: string;
  seconds: number;
  serialBytes: Record<string, number>;
  frames: Record<string, number>;
}

export async function record(options: RecordOptions): Promise<RecordSummary> {
  const { config, log } = options;
  const clock = new LiveClock();
  const startedAt = clock.now();
  const writer = new RecordingWriter(options.out, { store: config, startedAt, createdBy: options.createdBy, createdAt: new Date(startedAt).toISOString() });
  if (options.calibration) writer.calibration('scales', options.calibration);
  // The cameras' floor calibrations travel with the recording, so a replay projects onto the floor too.
  for (const camera of config.cameras) {
    if (!camera.calibration) continue;
    const file = resolve(camera.calibration);
    try {
      writer.calibration({ camera: camera.id }, JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      log.warn({ camera: camera.id, file, err }, 'camera calibration not recorded; the replay keeps this camera in image pixels');
    }
  }
  const ctx = { clock, ...(options.resolveSim ? { resolveSim: options.resolveSim } : {}) };
  const bytes: Record<string, number> = {};

  const serial: { device: string; kind: 'scale' | 'gate' | 'rfid'; url: string; r200?: RfidReaderConfig }[] = [];
  for (const g of config.gondolas) for (const s of g.shelves) serial.push({ device: `shelf-${g.id}.${s.id}`, kind: 'scale', url: s.device });
  for (const gate of config.gates) serial.push({ device: gate.id, kind: 'gate', url: gate.device });
  for (const reader of config.rfid.readers) serial.push({ device: reader.id, kind: 'rfid', url: reader.device, ...(reader.protocol === 'r200' ? { r200: reader } : {}) });
  // Shelves sharing a bus are one device on the wire.
  const seen = new Set<string>();
  const linkOf = new Map<string, DeviceLink>();
  const links = serial
    .filter((d) => (seen.has(d.url) ? false : (seen.add(d.url), true)))
    .map(
      (d): DeviceLink =>
        new DeviceLink({
          url: d.url,
          // An R200 module reports tags only once told to poll, as the agent would tell it.
          ...(d.r200 ? { onOpen: () => void startPolling(linkOf.get(d.url), d.r200!) } : {}),
          transport: (url) => createTransport(url, ctx),
          log: log.child({ device: d.device }),
          onData: (chunk, at) => {
            bytes[d.device] = (bytes[d.device] ?? 0) + chunk.length;
            writer.serial({ device: d.device, kind: d.kind, url: d.url }, at, chunk);
          },
          onAvailability: (online, reason) => log.info({ device: d.device, online, reason }, 'device availability'),
          // Gates and ASCII readers are silent when nobody is near: silence is not a stall.
          ...(d.kind === 'gate' || (d.kind === 'rfid' && !d.r200) ? { stallMs: 0 } : {}),
        }),
    );

  const frames: Record<string, number> = {};
  const cameras: { ingest: CameraIngest; video: VideoWriter }[] = [];
  for (const cam of config.cameras) {
    const url = cam.url.startsWith('sim://') ? options.resolveSim?.(cam.url.slice('sim://'.length)) : cam.url;
    if (!url) {
      log.warn({ camera: cam.id }, `${cam.url}: cannot be resolved; not recorded`);
      continue;
    }
    const { width, height } = cam.detectSize;
    const paths = writer.video({ camera: cam.id, width, height, fps: cam.fps });
    const video = new VideoWriter({ file: paths.file, framesFile: paths.frames, width, height, fps: cam.fps, pixelFormat: 'bgr24' });
    await video.start();
    const ingest = new CameraIngest({
      camera: cam.id,
      url,
      fps: cam.fps,
      width,
      height,
      clock,
      log: log.child({ camera: cam.id }),
      bus: new EventBus(log),
      onFrame: async (frame: CameraFrame) => {
        try {
          frames[cam.id] = (frames[cam.id] ?? 0) + 1;
          await video.write(frame.data, frame.at);
        } finally {
          frame.release();
        }
      },
    });
    cameras.push({ ingest, video });
  }

  [...seen].forEach((url, i) => linkOf.set(url, links[i]!));
  for (const link of links) link.start();
  for (const c of cameras) await c.ingest.start();
  await new Promise<void>((resolve) => {
    const timer = options.seconds === undefined ? undefined : setTimeout(resolve, options.seconds * 1000);
    options.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  for (const link of links) await link.stop();
  for (const c of cameras) await c.ingest.stop();
  for (const c of cameras) await c.video.finish();
  const endedAt = clock.now();
  writer.finish(endedAt);
  return { out: options.out, seconds: Math.round(endedAt - startedAt) / 1000, serialBytes: bytes, frames };
}

async function startPolling(link: DeviceLink | undefined, reader: RfidReaderConfig): Promise<void> {
  if (!link) return;
  try {
    await link.write(encodeSetRegion(R200_DEFAULT_REGION));
    if (reader.powerDbm !== undefined) await link.write(encodeSetPower(reader.powerDbm));
    await link.write(encodeStartPolling());
  } catch {
    // The link reconnects and calls again; nothing to add here.
  }
}
