import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StoreConfig } from '../../../device-config/schema.js';
import { CaptureWriter } from './capture-file.js';
import { RECORDING_FORMAT, RECORDING_VERSION, type RecordingManifest } from './manifest.js';

type SerialEntry = RecordingManifest['serial'][number];
type VideoEntry = RecordingManifest['video'][number];

/**
 * Writes a recording folder. The manifest is written first (with `endedAt: null`) and again at
 * `finish()`, so a recorder killed half-way still leaves a folder that replays up to where it died.
 */
export class RecordingWriter {
  private readonly manifest: RecordingManifest;
  private readonly captures = new Map<string, CaptureWriter>();
  private readonly truthFiles = new Map<string, { fd: number; buffer: string[] }>();

  constructor(
    readonly dir: string,
    options: { store: StoreConfig; startedAt: number; createdBy: string; createdAt?: string; scenario?: unknown },
  ) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'store.json'), JSON.stringify(options.store, null, 2) + '\n');
    this.manifest = {
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      createdBy: options.createdBy,
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
      store: 'store.json',
      startedAt: options.startedAt,
      endedAt: null,
      ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
      serial: [],
      video: [],
      calibration: { cameras: {} },
      truth: {},
    };
    this.writeManifest();
  }

  /** Appends bytes a serial device sent, received at store time `at`. */
  serial(device: Omit<SerialEntry, 'file'>, at: number, bytes: Uint8Array): void {
    let capture = this.captures.get(device.device);
    if (!capture) {
      const file = `serial/${safeName(device.device)}.cap`;
      mkdirSync(join(this.dir, 'serial'), { recursive: true });
      capture = new CaptureWriter(join(this.dir, file), { device: device.device, kind: device.kind, startedAt: this.manifest.startedAt, createdBy: this.manifest.createdBy });
      this.captures.set(device.device, capture);
      this.manifest.serial.push({ ...device, file });
      this.writeManifest();
    }
    capture.append(at, bytes);
  }

  /** Registers a camera's video; returns the absolute paths to write the video and its frame times to. */
  video(entry: Omit<VideoEntry, 'file' | 'frames'>): { file: string; frames: string } {
    mkdirSync(join(this.dir, 'video'), { recursive: true });
    const base = `video/${safeName(entry.camera)}`;
    this.manifest.video.push({ ...entry, file: `${base}.mkv`, frames: `${base}.frames.jsonl` });
    this.writeManifest();
    return { file: join(this.dir, `${base}.mkv`), frames: join(this.dir, `${base}.frames.jsonl`) };
  }

  /** Creates a ground-truth stream, so a day in which nothing of its kind happened still says so. */
  declareTruth(stream: string): { fd: number; buffer: string[] } {
    let out = this.truthFiles.get(stream);
    if (!out) {
      const file = `truth/${safeName(stream)}.jsonl`;
      mkdirSync(join(this.dir, 'truth'), { recursive: true });
      out = { fd: openSync(join(this.dir, file), 'w'), buffer: [] };
      this.truthFiles.set(stream, out);
      this.manifest.truth[stream] = file;
      this.writeManifest();
    }
    return out;
  }

  truth(stream: string, record: unknown): void {
    const out = this.declareTruth(stream);
    out.buffer.push(JSON.stringify(record));
    if (out.buffer.length >= 512) this.flushTruth(out);
  }

  /** Writes a calibration document: `scales`, or a camera's id. */
  calibration(what: 'scales' | { camera: string }, document: unknown): void {
    const file = what === 'scales' ? 'calibration/scales.json' : `calibration/${safeName(what.camera)}.json`;
    mkdirSync(dirname(join(this.dir, file)), { recursive: true });
    writeFileSync(join(this.dir, file), JSON.stringify(document, null, 2) + '\n');
    if (what === 'scales') this.manifest.calibration.scales = file;
    else this.manifest.calibration.cameras[what.camera] = file;
    this.writeManifest();
  }

  finish(endedAt: number): RecordingManifest {
    for (const c of this.captures.values()) c.close();
    for (const t of this.truthFiles.values()) {
      this.flushTruth(t);
      closeSync(t.fd);
    }
    this.manifest.endedAt = endedAt;
    this.writeManifest();
    return this.manifest;
  }

  private flushTruth(out: { fd: number; buffer: string[] }): void {
    if (out.buffer.length === 0) return;
    writeSync(out.fd, out.buffer.join('\n') + '\n');
    out.buffer.length = 0;
  }

  private writeManifest(): void {
    writeFileSync(join(this.dir, 'manifest.json'), JSON.stringify(this.manifest, null, 2) + '\n');
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
