/**
 * The simulator as live devices for a running agent (`edge-agent sim --live`, used by the demo):
 * shelf controllers and gates on pseudo-terminals, cameras as MJPEG streams over HTTP, all paced
 * by the wall clock, with shoppers arriving until it is stopped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { StoreConfig } from '../../../../device-config/schema.js';
import { sleep } from '../../backoff.js';
import type { Logger } from '../../log.js';
import { simCameraRig } from '../cameras/sim-camera.js';
import { SceneRenderer } from '../render/scene-renderer.js';
import type { Scenario } from '../scenario.js';
import { StoreWorld, type SimDeviceRef } from '../store-world.js';
import { R200_COMMAND, R200Decoder, encodeModuleInfoResponse, encodePowerResponse, encodeStatusResponse } from '../../devices/rfid/r200-protocol.js';
import { MjpegServer } from './mjpeg-server.js';
import type { LiveDeviceMap } from './device-map.js';
import { PtyPair } from './pty-pair.js';


/** A device that cannot keep up loses bytes, as a UART overrun would; never unbounded memory. */
const MAX_QUEUED_BYTES = 64 * 1024;
/** Camera frames more than this late are skipped rather than rendered. */
const FRAME_LATE_MS = 250;

export class LiveSimulation {
  private readonly world: StoreWorld;
  private readonly dir = mkdtempSync(join(tmpdir(), 'edge-sim-'));
  private readonly ptys: PtyPair[] = [];
  private readonly ports = new Map<string, SerialPort>();
  private readonly mjpeg = new MjpegServer();
  private renderer: SceneRenderer | undefined;
  private readonly frames = new Map<string, Buffer>();
  private stopping = false;
  private wallStart = 0;
  private overruns = 0;
  private readonly r200 = new Set<string>();
  private readonly polling = new Set<string>();

  constructor(
    private readonly config: StoreConfig,
    scenario: Scenario,
    shoppersPerHour: number,
    private readonly log: Logger,
  ) {
    this.world = new StoreWorld({ config, scenario, liveShoppersPerHour: shoppersPerHour, cameras: config.cameras.length > 0 });
  }

  async start(): Promise<LiveDeviceMap> {
    const devices: Record<string, string> = {};
    for (const ref of this.world.serialDevices) {
      const pair = new PtyPair(join(this.dir, `${ref.simName}.agent`), join(this.dir, `${ref.simName}.device`));
      await pair.open();
      this.ptys.push(pair);
      const port = new SerialPort({ path: pair.devicePath, baudRate: 115_200, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      port.on('error', (err) => this.log.warn({ device: ref.device, err }, 'simulated device port error'));
      if (ref.kind === 'rfid' && this.config.rfid.readers.find((r) => r.id === ref.device)?.protocol === 'r200') this.answerR200(ref.device, port);
      this.ports.set(ref.device, port);
      devices[ref.simName] = `serial://${pair.agentPath}?baudRate=115200`;
    }
    if (this.config.cameras.length > 0) {
      await this.mjpeg.listen();
      const rig = simCameraRig(this.world.layout);
      this.renderer = await SceneRenderer.create(this.world.layout, rig, this.config.planogram.products);
      for (const cam of rig) this.frames.set(cam.id, Buffer.alloc(cam.width * cam.height * 3));
      for (const cam of this.config.cameras) {
        const simName = cam.url.startsWith('sim://') ? cam.url.slice('sim://'.length) : cam.id;
        devices[simName] = this.mjpeg.url(cam.id);
      }
    }
    const calibration = join(this.dir, 'scales.json');
    writeFileSync(
      calibration,
      JSON.stringify({
        plates: this.world.controllers.flatMap((c) =>
          c.hardware.map((h) => ({ plate: h.plate, zeroCounts: h.zeroCounts, countsPerGram: h.calibratedCountsPerGram, operator: 'simulator', calibratedAt: new Date(this.world.startAt).toISOString() })),
        ),
      }),
    );
    this.wallStart = Date.now();
    void this.loop();
    return { devices, calibration, dir: this.dir };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const port of this.ports.values()) await new Promise((r) => (port.isOpen ? port.close(r) : r(undefined)));
    for (const p of this.ptys) p.close();
    await this.mjpeg.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async loop(): Promise<void> {
    const sink = {
      serial: (ref: SimDeviceRef, _at: number, bytes: Buffer) => this.write(ref, bytes),
      frame: async (camera: string, at: number, snapshot: Parameters<SceneRenderer['render']>[1]) => {
        const frame = this.frames.get(camera);
        if (!frame || !this.renderer || this.lateBy(at) > FRAME_LATE_MS) return;
        const cam = this.config.cameras.find((c) => c.id === camera)!;
        this.renderer.render(camera, snapshot, frame);
        await this.mjpeg.publish(camera, frame, cam.detectSize.width, cam.detectSize.height);
      },
      truth: () => undefined,
    };
    while (!this.stopping) {
      const now = this.world.startAt + (Date.now() - this.wallStart);
      try {
        await this.world.runUntil(now, sink);
      } catch (err) {
        this.log.error({ err }, 'simulation step failed; stopping the simulator');
        return;
      }
      const next = this.world.nextEventAt ?? now + 20;
      await sleep(Math.max(1, Math.min(20, next - (this.world.startAt + (Date.now() - this.wallStart)))));
    }
  }

  private lateBy(at: number): number {
    return Date.now() - this.wallStart - (at - this.world.startAt);
  }

  /** An R200 module answers its host's commands and only reports tags while it is told to poll. */
  private answerR200(device: string, port: SerialPort): void {
    const decoder = new R200Decoder({
      command: (frame) => {
        if (frame.command === R200_COMMAND.startPolling) this.polling.add(device);
        if (frame.command === R200_COMMAND.stopPolling) this.polling.delete(device);
        const answer =
          frame.command === R200_COMMAND.startPolling || frame.command === R200_COMMAND.inventory
            ? undefined
            : frame.command === R200_COMMAND.getPower
              ? encodePowerResponse(20)
              : frame.command === R200_COMMAND.moduleInfo
                ? encodeModuleInfoResponse('software', 'SIM-R200 1.0')
                : encodeStatusResponse(frame.command);
        if (answer && port.isOpen) port.write(answer);
      },
    });
    port.on('data', (chunk: Buffer) => decoder.push(chunk, Date.now()));
    this.r200.add(device);
  }

  private write(ref: SimDeviceRef, bytes: Buffer): void {
    if (this.r200.has(ref.device) && !this.polling.has(ref.device)) return;
    const port = this.ports.get(ref.device);
    if (!port?.isOpen) return;
    if (port.writableLength > MAX_QUEUED_BYTES) {
      this.overruns += 1;
      return;
    }
    port.write(Buffer.from(bytes));
  }
}
