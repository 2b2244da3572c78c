/**
 * Reading a MOT Challenge sequence: detection and ground-truth text files
 * (`frame,id,left,top,width,height,conf,…`, one box per line, frames counted from 1), the image
 * folder and `seqinfo.ini`. Every problem names the file and line so the operator can fix it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../../errors.js';

export class MotFileError extends Error {
  override readonly name = 'MotFileError';
}

/** One line of a MOT det or gt file, its box turned into corners. */
export interface MotRow {
  frame: number;
  /** -1 in detection files. */
  id: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Detection confidence, or in a MOT16+ ground truth the "consider" flag (0 = ignore). */
  conf: number;
  /** 1-based line in its file, for messages. */
  line: number;
}

export interface MotFrameImage {
  frame: number;
  path: string;
}

function readText(file: string): string {
  if (!existsSync(file)) throw new MotFileError(`${file}: no such file`);
  if (!statSync(file).isFile()) throw new MotFileError(`${file}: not a file`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new MotFileError(`${file}: cannot be read (${describeError(err)})`);
  }
}

function field(parts: readonly string[], index: number, name: string, where: string): number {
  const text = parts[index]?.trim() ?? '';
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new MotFileError(`${where}: ${name} (column ${index + 1}) is not a number: ${JSON.stringify(parts[index] ?? '')}`);
  return value;
}

/**
 * Parses a MOT det (`kind: 'det'`) or gt (`kind: 'gt'`) file. Ground-truth lines whose 7th column
 * is 0 are left out: from MOT16 on that column says whether a box is to be considered, and MOT15
 * files write -1 there.
 */
export function readMotFile(file: string, kind: 'det' | 'gt'): MotRow[] {
  const rows: MotRow[] = [];
  const lines = readText(file).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    const where = `${file}:${i + 1}`;
    const parts = text.split(',');
    if (parts.length < 6) throw new MotFileError(`${where}: expected at least 6 comma-separated columns (frame,id,left,top,width,height), found ${parts.length}`);
    const frame = field(parts, 0, 'frame', where);
    if (!Number.isInteger(frame) || frame < 1) throw new MotFileError(`${where}: frame must be a whole number ≥ 1, found ${frame}`);
    const id = field(parts, 1, 'id', where);
    if (!Number.isInteger(id)) throw new MotFileError(`${where}: id must be a whole number, found ${id}`);
    if (kind === 'gt' && id < 0) throw new MotFileError(`${where}: a ground-truth id must be ≥ 0, found ${id}`);
    const left = field(parts, 2, 'left', where);
    const top = field(parts, 3, 'top', where);
    const width = field(parts, 4, 'width', where);
    const height = field(parts, 5, 'height', where);
    if (width <= 0 || height <= 0) throw new MotFileError(`${where}: width and height must be > 0, found ${width}×${height}`);
    const conf = parts.length > 6 ? field(parts, 6, 'conf', where) : kind === 'det' ? 1 : -1;
    if (kind === 'gt' && conf === 0) continue;
    rows.push({ frame, id, x1: left, y1: top, x2: left + width, y2: top + height, conf, line: i + 1 });
  }
  if (kind === 'gt') {
    const seen = new Set<string>();
    for (const r of rows) {
      const key = `${r.frame}:${r.id}`;
      if (seen.has(key)) throw new MotFileError(`${file}:${r.line}: id ${r.id} appears twice in frame ${r.frame}`);
      seen.add(key);
    }
  }
  return rows;
}

/** Rows grouped by frame number. */
export function rowsByFrame(rows: readonly MotRow[]): Map<number, MotRow[]> {
  const byFrame = new Map<number, MotRow[]>();
  for (const row of rows) {
    const list = byFrame.get(row.frame);
    if (list) list.push(row);
    else byFrame.set(row.frame, [row]);
  }
  return byFrame;
}

const IMAGE = /\.(jpe?g|png|bmp)$/i;

/** The image files of a sequence folder, numbered by the last digits in their names, in frame order. */
export function listFrameImages(dir: string): MotFrameImage[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MotFileError(`${dir}: no such frames folder`);
  const frames: MotFrameImage[] = [];
  const byNumber = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new MotFileError(`${dir}: cannot be listed (${describeError(err)})`);
  }
  for (const name of names) {
    if (!IMAGE.test(name)) continue;
    const digits = /(\d+)\.[^.]+$/.exec(name);
    if (!digits) throw new MotFileError(`${join(dir, name)}: no frame number in the file name`);
    const frame = Number(digits[1]);
    const other = byNumber.get(frame);
    if (other !== undefined) throw new MotFileError(`${join(dir, name)}: frame ${frame} also in ${other}`);
    byNumber.set(frame, name);
    frames.push({ frame, path: join(dir, name) });
  }
  if (frames.length === 0) throw new MotFileError(`${dir}: no frame images (.jpg, .png, .bmp)`);
  return frames.sort((a, b) => a.frame - b.frame);
}

/**
 * The frame rate a MOT sequence declares in `seqinfo.ini` (`frameRate=`), looked for in the frames
 * folder and its parent (the MOT17 layout is `SEQ/seqinfo.ini` next to `SEQ/img1/`).
 */
export function readSequenceFps(framesDir: string): { fps: number; file: string } | undefined {
  for (const file of [join(framesDir, 'seqinfo.ini'), join(dirname(framesDir), 'seqinfo.ini')]) {
    if (!existsSync(file)) continue;
    const lines = readText(file).split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const m = /^\s*frameRate\s*=\s*(.*?)\s*$/i.exec(lines[i]!);
      if (!m) continue;
      const fps = Number(m[1]);
      if (!Number.isFinite(fps) || fps <= 0) throw new MotFileError(`${file}:${i + 1}: frameRate must be a number > 0, found ${JSON.stringify(m[1])}`);
      return { fps, file };
    }
  }
  return undefined;
}

/** The sequence's name: the folder holding the frames folder when that is `img`/`img1`, else the frames folder. */
export function sequenceName(framesDir: string): string {
  const name = basename(framesDir.replace(/[\\/]+$/, ''));
  return /^img\d*$/i.test(name) ? basename(dirname(framesDir.replace(/[\\/]+$/, ''))) : name;
}
