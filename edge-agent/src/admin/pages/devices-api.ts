/**
 * What the Devices page shows: every camera, shelf controller, RFID reader, gate and screen with
 * its availability, last sample, error counters and (cameras) vision figures, assembled from the
 * components' own health reports and the bus's availability changes; and a camera's latest frame
 * as a JPEG with the people boxes vision found on it.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { DeviceAvailability } from '../../devices/device-availability.js';
import { modbusBuses } from '../../devices/scale/modbus-scale-adapter.js';
import type { FrameSnapshot } from '../../vision/vision-service.js';
import { opencv } from '../../vision/opencv.js';
import type { AdminContext } from '../admin-context.js';

export type DeviceKind = 'camera' | 'shelf' | 'rfid' | 'gate' | 'screen';
type Status = 'up' | 'degraded' | 'down' | 'unknown';

export interface DeviceRow {
  kind: DeviceKind;
  id: string;
  name: string;
  /** The health component reporting on it, when one runs. */
  component: string | null;
  status: Status;
  detail: string | null;
  online: boolean | null;
  /** The last availability change seen on the bus since the page's server started. */
  availability: { online: boolean; reason: string | null; at: number } | null;
  lastSampleAt: number | null;
  parseErrors: number | null;
  reconnects: number | null;
  /** Kind-specific figures (frames dropped, inference ms, connected browsers…). */
  metrics: Record<string, number | string | boolean | null>;
}

export interface DevicesView {
  at: number;
  devices: DeviceRow[];
  vision: { status: Status; detail: string | null; model: string | null };
}

/** Counter names that count bytes or lines a device sent that could not be understood. */
const PARSE_ERROR_COUNTERS = ['checksumErrors', 'malformed', 'overlong', 'unknownType', 'unknownTypes', 'unknownCommands', 'framingErrors', 'truncated', 'crcErrors', 'badValues', 'tagCrcErrors'];

type Report = Record<string, unknown> & { status?: string; detail?: string };

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function parseErrors(counters: unknown): number | null {
  if (!counters || typeof counters !== 'object') return null;
  const c = counters as Record<string, unknown>;
  let sum = 0;
  for (const key of PARSE_ERROR_COUNTERS) sum += num(c[key]) ?? 0;
  return sum;
}

let owners = 0;

/** Availability changes from the bus, by device id, for as long as the app runs. */
class AvailabilityLog {
  private readonly last = new Map<string, DeviceAvailability>();
  private readonly gateEvents = new Map<string, number>();
  private readonly owner = `admin-devices-${++owners}`;

  constructor(private readonly ctx: AdminContext) {}

  start(): void {
    this.ctx.bus.on('device.availability', this.owner, (a) => void this.last.set(a.device, a));
    this.ctx.bus.on('gate.event', this.owner, (e) => void this.gateEvents.set(e.gate, e.at));
  }

  stop(): void {
    this.ctx.bus.removeAllOf(this.owner);
  }

  of(device: string): DeviceRow['availability'] {
    const a = this.last.get(device);
    return a ? { online: a.online, reason: a.reason ?? null, at: a.at } : null;
  }

  lastGateEvent(gate: string): number | null {
    return this.gateEvents.get(gate) ?? null;
  }
}

function statusOf(report: Report | undefined): Status {
  const s = report?.status;
  return s === 'up' || s === 'degraded' || s === 'down' ? s : 'unknown';
}

export function devicesView(ctx: AdminContext, log: AvailabilityLog): DevicesView {
  const health = ctx.health();
  const components = health.components as Record<string, Report>;
  const problemOf = (device: string) => [...ctx.problems].reverse().find((p) => p.device === device)?.message ?? null;
  const vision = components['vision'];
  const visionCameras = (vision?.['cameras'] ?? {}) as Record<string, Report>;
  const rows: DeviceRow[] = [];

  const base = (kind: DeviceKind, id: string, name: string, component: string, availabilityId: string): DeviceRow => {
    const report = components[component];
    const online = report ? report.status === 'up' : null;
    return {
      kind,
      id,
      name,
      component: report ? component : null,
      status: report ? statusOf(report) : 'down',
      detail: report ? (report.detail ?? null) : (problemOf(id) ?? 'not running'),
      online,
      availability: log.of(availabilityId),
      lastSampleAt: null,
      parseErrors: report ? parseErrors(report['counters']) : null,
      reconnects: report ? num((report['counters'] as Record<string, unknown> | undefined)?.['reconnects']) : null,
      metrics: {},
    };
  };

  for (const camera of ctx.config.cameras) {
    const row = base('camera', camera.id, camera.name ?? camera.id, `camera:${camera.id}`, camera.id);
    const report = components[`camera:${camera.id}`];
    if (report) {
      row.online = report['online'] === undefined ? row.status === 'up' : report['online'] === true;
      row.lastSampleAt = num(report['lastFrameAt']);
      row.reconnects = num(report['restarts']);
      row.parseErrors = null;
      row.metrics['fps'] = num(report['fps']);
      row.metrics['framesDropped'] = num(report['dropped']);
      row.metrics['framesDelivered'] = num(report['delivered']) ?? num(report['decoded']);
      if (report['lastError']) row.metrics['lastError'] = String(report['lastError']);
    }
    const v = visionCameras[camera.id];
    const stages = v?.['stages'] as Record<string, { p50Ms?: number; p95Ms?: number; meanMs?: number; n?: number }> | undefined;
    row.metrics['tracked'] = v !== undefined;
    row.metrics['calibrated'] = v ? v['calibrated'] === true : null;
    row.metrics['inferenceMsP50'] = stages?.['detect']?.n ? num(stages['detect'].p50Ms) : null;
    row.metrics['inferenceMsP95'] = stages?.['detect']?.n ? num(stages['detect'].p95Ms) : null;
    row.metrics['visionFrames'] = v ? num(v['frames']) : null;
    row.metrics['failedFrames'] = v ? num(v['failedFrames']) : null;
    row.metrics['people'] = v ? num(v['tracks']) : null;
    if (v?.['problem']) row.metrics['visionProblem'] = String(v['problem']);
    const frame = ctx.vision.lastFrame(camera.id);
    row.metrics['snapshotAt'] = frame?.at ?? null;
    rows.push(row);
  }

  for (const shelf of ctx.layout.shelves.values()) {
    if (shelf.protocol !== 'scale-line') continue;
    const device = `shelf-${shelf.key}`;
    const row = base('shelf', device, `Shelf ${shelf.key}`, device, device);
    const report = components[device];
    row.lastSampleAt = num(report?.['lastSampleAt']);
    row.metrics['protocol'] = shelf.protocol;
    row.metrics['plates'] = shelf.plates.length;
    const counters = report?.['counters'] as Record<string, unknown> | undefined;
    row.metrics['samples'] = num(counters?.['samples']);
    row.metrics['droppedTicks'] = num(counters?.['droppedTicks']);
    row.metrics['plateErrors'] = num(counters?.['plateErrors']);
    row.metrics['stalls'] = num(counters?.['stalls']);
    rows.push(row);
  }
  for (const bus of modbusBuses(ctx.config)) {
    const row = base('shelf', bus.device, `Modbus ${bus.shelves.map((s) => s.shelf).join(', ')}`, bus.device, bus.device);
    const report = components[bus.device];
    row.lastSampleAt = num(report?.['lastSampleAt']);
    row.metrics['protocol'] = 'modbus-rtu';
    row.metrics['plates'] = bus.shelves.reduce((n, s) => n + s.plates.length, 0);
    const counters = report?.['counters'] as Record<string, unknown> | undefined;
    row.metrics['timeouts'] = num(counters?.['timeouts']);
    row.metrics['exceptions'] = num(counters?.['exceptions']);
    rows.push(row);
  }

  for (const reader of ctx.config.rfid.readers) {
    const row = base('rfid', reader.id, reader.id, `rfid-${reader.id}`, reader.id);
    const report = components[`rfid-${reader.id}`];
    row.lastSampleAt = num(report?.['lastReadAt']);
    row.metrics['protocol'] = reader.protocol;
    row.metrics['antennas'] = reader.antennas.length;
    row.metrics['reads'] = num((report?.['counters'] as Record<string, unknown> | undefined)?.['reads']);
    rows.push(row);
  }

  for (const gate of ctx.config.gates) {
    const row = base('gate', gate.id, gate.id, `gate-${gate.id}`, gate.id);
    const report = components[`gate-${gate.id}`];
    row.lastSampleAt = log.lastGateEvent(gate.id);
    const counters = report?.['counters'] as Record<string, unknown> | undefined;
    row.metrics['kind'] = gate.kind;
    row.metrics['scans'] = num(counters?.['scans']);
    row.metrics['passes'] = num(counters?.['passes']);
    rows.push(row);
  }

  const signage = ctx.signage.health() as Report;
  const screens = (signage['screens'] ?? {}) as Record<string, { connected?: number; shownAt?: string }>;
  for (const screen of ctx.config.screens) {
    const s = screens[screen.id];
    const connected = num(s?.connected) ?? 0;
    rows.push({
      kind: 'screen',
      id: screen.id,
      name: screen.name ?? screen.id,
      component: 'signage',
      status: connected > 0 ? 'up' : 'degraded',
      detail: connected > 0 ? null : 'no browser connected',
      online: connected > 0,
      availability: null,
      lastSampleAt: s?.shownAt ? Date.parse(s.shownAt) : null,
      parseErrors: null,
      reconnects: null,
      metrics: { connected },
    });
  }

  return {
    at: ctx.clock(),
    devices: rows,
    vision: { status: statusOf(vision), detail: vision?.detail ?? null, model: (vision?.['model'] as string | null | undefined) ?? null },
  };
}

/** Green for confirmed people, amber for tracks not yet confirmed (BGR). */
const CONFIRMED = [80, 200, 40] as const;
const TENTATIVE = [0, 190, 255] as const;

/** The frame as a JPEG with its people boxes drawn. */
export async function snapshotJpeg(frame: FrameSnapshot): Promise<Buffer> {
  const cv = opencv();
  const mat = new cv.Mat(frame.data, frame.height, frame.width, cv.CV_8UC3);
  const thickness = Math.max(2, Math.round(frame.width / 320));
  for (const t of frame.tracks) {
    const colour = t.state === 'confirmed' ? CONFIRMED : TENTATIVE;
    const x1 = Math.max(0, Math.round(t.box.x1));
    const y1 = Math.max(0, Math.round(t.box.y1));
    const x2 = Math.min(frame.width - 1, Math.round(t.box.x2));
    const y2 = Math.min(frame.height - 1, Math.round(t.box.y2));
    if (x2 <= x1 || y2 <= y1) continue;
    const vec = new cv.Vec3(colour[0], colour[1], colour[2]);
    mat.drawRectangle(new cv.Point2(x1, y1), new cv.Point2(x2, y2), vec, thickness);
    mat.putText(`#${t.id} ${Math.round(t.score * 100)}%`, new cv.Point2(x1 + 2, Math.max(12, y1 - 4)), cv.FONT_HERSHEY_SIMPLEX, 0.45, vec, 1);
  }
  return cv.imencodeAsync('.jpg', mat, [cv.IMWRITE_JPEG_QUALITY, 80]);
}

const CameraParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export async function devicesApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const log = new AvailabilityLog(ctx);
  log.start();
  app.addHook('onClose', async () => log.stop());

  app.get('/api/devices', { config: { role: 'viewer' } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return devicesView(ctx, log);
  });

  app.get('/api/devices/cameras/:id/snapshot.jpg', { config: { role: 'viewer' }, schema: { params: CameraParams } }, async (request, reply) => {
    const { id } = request.params as Type.Static<typeof CameraParams>;
    const camera = ctx.config.cameras.find((c) => c.id === id);
    if (!camera) return reply.code(404).send({ statusCode: 404, error: `no camera ${id}` });
    const frame = ctx.vision.lastFrame(id);
    if (!frame) {
      const problem = [...ctx.problems].reverse().find((p) => p.device === id)?.message;
      return reply.code(404).send({ statusCode: 404, error: `no frame from camera ${id} yet${problem ? ` (${problem})` : ''}` });
    }
    const jpeg = await snapshotJpeg(frame);
    return reply
      .header('cache-control', 'no-store')
      .header('x-frame-at', String(frame.at))
      .header('x-people', String(frame.tracks.length))
      .type('image/jpeg')
      .send(jpeg);
  });
}
