/**
 * What the cloud changed in the store's configuration (`update-planogram`, `update-prices`),
 * kept beside the database as `<dataDir>/cloud-config.json` rather than in the engineer's file:
 * the file stays theirs, and the cloud's part survives restarts and a reinstalled file. It is
 * applied to the parsed file before validation, so a bad change names its JSON path like any
 * other configuration error.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import Type from 'typebox';
import { Ajv } from 'ajv';
import { EdgeError, ErrorCode } from '../errors.js';

export const CLOUD_OVERLAY_FILE = 'cloud-config.json';

export const CloudOverlay = Type.Object(
  {
    v: Type.Literal(1),
    updatedAt: Type.String({ description: 'ISO 8601 time of the last change' }),
    /** Replaces the file's planogram when present. */
    planogram: Type.Optional(Type.Object({ products: Type.Array(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: false })),
    /** Unit prices by product id, over the planogram's (the file's or the cloud's). */
    prices: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }))),
  },
  { additionalProperties: false },
);
export type CloudOverlay = Type.Static<typeof CloudOverlay>;

const validOverlay = new Ajv({ strict: false }).compile(CloudOverlay);

export function overlayPath(dataDir: string): string {
  return join(dataDir, CLOUD_OVERLAY_FILE);
}

/** The overlay in `dataDir`, or undefined when the cloud never changed anything. */
export function readCloudOverlay(dataDir: string): CloudOverlay | undefined {
  const file = overlayPath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EdgeError(ErrorCode.ConfigUnreadable, `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err, details: { file } });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EdgeError(ErrorCode.ConfigInvalidJson, `${file}: invalid JSON (the cloud's planogram and prices; delete it to use the file's)`, { details: { file } });
  }
  if (!validOverlay(parsed)) {
    throw new EdgeError(ErrorCode.ConfigInvalid, `${file}: not a cloud configuration overlay (${validOverlay.errors?.[0]?.instancePath ?? ''} ${validOverlay.errors?.[0]?.message ?? ''})`, { details: { file } });
  }
  return parsed;
}

/** Written whole or not at all: a crash leaves the old file or the new one, never half of one. */
export function writeCloudOverlay(dataDir: string, overlay: CloudOverlay): void {
  mkdirSync(dataDir, { recursive: true });
  const file = overlayPath(dataDir);
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify(overlay, null, 2)}\n`);
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** The parsed configuration file with the cloud's changes on top (a copy; `raw` is untouched). */
export function applyCloudOverlay(raw: unknown, overlay: CloudOverlay): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out = structuredClone(raw) as Record<string, unknown>;
  if (overlay.planogram) out['planogram'] = structuredClone(overlay.planogram);
  if (overlay.prices) {
    const planogram = out['planogram'] as { products?: Record<string, unknown>[] } | undefined;
    for (const product of planogram?.products ?? []) {
      const price = overlay.prices[String(product['id'])];
      if (price !== undefined) product['price'] = price;
    }
  }
  return out;
}
