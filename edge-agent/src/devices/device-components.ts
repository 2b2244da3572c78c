/**
 * Builds the adapter components for every device in a store configuration. The transport
 * context decides what a URL means here: a real port, a ser2net socket, the simulator's pty, a
 * recording under the replay scheduler.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreClock } from '../clock.js';
import type { StoreDatabase } from '../db/database.js';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { ReplayScheduler } from '../recording/replay-scheduler.js';
import type { ShelfTickSink } from '../shelf/shelf-tick.js';
import type { StoreLayout } from '../sim/store-layout.js';
import { CameraIngest } from './camera/camera-ingest.js';
import { CameraReplaySource } from './camera/camera-replay-source.js';
import type { CameraFrame } from './camera/frame.js';
import { ReplayedCamera } from './camera/replayed-camera.js';
import { GateAdapter } from './gate/gate-adapter.js';
import { RfidReaderAdapter } from './rfid/rfid-reader-adapter.js';
import type { TagReadSink } from './rfid/tag-read.js';
import { ModbusScaleAdapter, modbusBuses } from './scale/modbus-scale-adapter.js';
import { ScaleAdapter } from './scale/scale-adapter.js';
import type { TransportContext } from './serial/byte-transport.js';
import { createTransport } from './serial/transport-factory.js';

export interface RecordedVideo {
  video: string;
  framesFile: string;
}

export interface DeviceEnvironment {
  config: StoreConfig;
  layout: StoreLayout;
  clock: StoreClock;
  bus: EventBus;
  database: StoreDatabase;
  log: Logger;
  transports: Omit<TransportContext, 'clock'>;
  /** Recorded video per camera id, when replaying. */
  recordedVideo?: ReadonlyMap<string, RecordedVideo>;
  replay?: ReplayScheduler;
  shelfSink: ShelfTickSink;
  rfidSink: TagReadSink;
  /** False when shelf readings come from elsewhere (an imported export): no shelf controllers. */
  shelves: boolean;
  onFrame: (frame: CameraFrame) => void | Promise<void>;
  /** Problems found while reading recordings (a truncated capture, a short video). */
  onProblem: (device: string, message: string) => void;
}

export function deviceComponents(env: DeviceEnvironment): Component[] {
  const ctx: TransportContext = { clock: env.clock, ...env.transports };
  const components: Component[] = [];
  const scaleLog = env.log.child({ module: 'scale' });
  for (const shelf of env.layout.shelves.values()) {
    if (!env.shelves || shelf.protocol !== 'scale-line') continue;
    const device = `shelf-${shelf.key}`;
    components.push(
      new ScaleAdapter({
        device,
        shelf: shelf.key,
        url: shelf.device,
        plateCount: shelf.plates.length,
        transport: (url) => createTransport(url, ctx, (m) => env.onProblem(device, m)),
        clock: env.clock,
        log: scaleLog,
        bus: env.bus,
        sink: env.shelfSink,
        dependsOn: ['calibration'],
      }),
    );
  }
  const buses = env.shelves ? modbusBuses(env.config, (message) => scaleLog.warn(message)) : [];
  for (const bus of buses) {
    components.push(new ModbusScaleAdapter({ ...bus, clock: env.clock, log: scaleLog, bus: env.bus, sink: env.shelfSink, dependsOn: ['calibration'] }));
  }
  const gateLog = env.log.child({ module: 'gate' });
  for (const gate of env.config.gates) {
    components.push(
      new GateAdapter({
        gate: gate.id,
        url: gate.device,
        transport: (url) => createTransport(url, ctx, (m) => env.onProblem(gate.id, m)),
        clock: env.clock,
        log: gateLog,
        bus: env.bus,
        store: env.database,
      }),
    );
  }
  const rfidLog = env.log.child({ module: 'rfid' });
  for (const reader of env.config.rfid.readers) {
    if (env.replay && !reader.device.startsWith('replay://')) continue; // no capture of this reader to replay
    const simName = reader.device.startsWith('sim://') ? reader.device.slice('sim://'.length) : undefined;
    if (simName !== undefined && env.transports.resolveSim && env.transports.resolveSim(simName) === undefined) {
      env.onProblem(reader.id, `${reader.device}: the running simulator does not play this reader`);
      continue;
    }
    components.push(
      new RfidReaderAdapter({
        reader,
        transport: (url) => createTransport(url, ctx, (m) => env.onProblem(reader.id, m)),
        clock: env.clock,
        log: rfidLog,
        bus: env.bus,
        sink: env.rfidSink,
      }),
    );
  }
  const cameraLog = env.log.child({ module: 'camera' });
  for (const camera of env.config.cameras) {
    const recorded = env.recordedVideo?.get(camera.id);
    if (recorded && env.replay) {
      const source = new CameraReplaySource({
        camera: camera.id,
        video: recorded.video,
        framesFile: recorded.framesFile,
        width: camera.detectSize.width,
        height: camera.detectSize.height,
        log: cameraLog,
        onFrame: env.onFrame,
        onProblem: (m) => env.onProblem(camera.id, m),
      });
      components.push(new ReplayedCamera(`camera:${camera.id}`, source, env.replay));
      continue;
    }
    if (env.replay) continue; // a replay without this camera's video has nothing to show for it
    const url = camera.url.startsWith('sim://') ? env.transports.resolveSim?.(camera.url.slice('sim://'.length)) : camera.url;
    if (!url) {
      env.onProblem(camera.id, `${camera.url}: no simulated camera of that name is running`);
      continue;
    }
    components.push(
      new CameraIngest({
        camera: camera.id,
        url,
        fps: camera.fps,
        width: camera.detectSize.width,
        height: camera.detectSize.height,
        clock: env.clock,
        log: cameraLog,
        bus: env.bus,
        onFrame: env.onFrame,
      }),
    );
  }
  return components;
}
