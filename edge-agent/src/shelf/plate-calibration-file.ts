/**
 * Calibration files: what an installer's tool (or `edge-agent calibrate`) writes after taring and
 * spanning the plates, imported into the append-only calibration history.
 *
 *   { "plates": [ { "plate": "1.2.3", "zeroCounts": 8123.5, "countsPerGram": 41.9,
 *                   "knownMassGrams": 500, "operator": "ana", "calibratedAt": "2025-03-01T08:00:00Z" } ] }
 */
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject } from 'ajv';
import Type from 'typebox';
import { PlateRef } from '../../../device-config/schema.js';
import type { NewPlateCalibration, PlateCalibration, PlateCalibrationRepository } from '../db/repositories/plate-calibrations.js';

const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';

export const CalibrationFileSchema = Type.Object(
  {
    plates: Type.Array(
      Type.Object(
        {
          plate: PlateRef,
          zeroCounts: Type.Number({ description: 'raw counts with the plate empty' }),
          countsPerGram: Type.Number({ description: 'counts per gram (negative when the cell is wired reversed; never 0)' }),
          knownMassGrams: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'reference mass used for the span' })),
          operator: Type.String({ minLength: 1, maxLength: 100, description: 'who calibrated' }),
          calibratedAt: Type.String({ pattern: ISO_DATE_TIME, description: 'ISO 8601 date-time with a time zone' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export type CalibrationFile = Type.Static<typeof CalibrationFileSchema>;

export interface CalibrationIssue {
  /** JSON Pointer into the file, e.g. `/plates/2/countsPerGram`. */
  path: string;
  message: string;
}

export class CalibrationFileError extends Error {
  override readonly name = 'CalibrationFileError';

  constructor(
    readonly file: string,
    readonly issues: readonly CalibrationIssue[],
  ) {
    super(`${file}: ${issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ')}`);
  }
}

let validator: ReturnType<Ajv['compile']> | undefined;

/** Reads and checks a calibration file; every problem is reported with its JSON path. */
export async function readCalibrationFile(file: string): Promise<CalibrationFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CalibrationFileError(file, [{ path: '', message: code === 'ENOENT' ? 'no such file' : `cannot be read (${code})` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CalibrationFileError(file, [{ path: '', message: `invalid JSON: ${(err as Error).message}` }]);
  }
  validator ??= new Ajv({ allErrors: true, strict: true, verbose: true }).compile(CalibrationFileSchema);
  if (!validator(data)) throw new CalibrationFileError(file, (validator.errors ?? []).map(describe));
  const parsed = data as CalibrationFile;
  const issues: CalibrationIssue[] = [];
  const seen = new Map<string, number>();
  parsed.plates.forEach((p, i) => {
    if (p.countsPerGram === 0 || !Number.isFinite(p.countsPerGram)) issues.push({ path: `/plates/${i}/countsPerGram`, message: 'must be a non-zero number' });
    if (!isRealDate(p.calibratedAt)) issues.push({ path: `/plates/${i}/calibratedAt`, message: `${JSON.stringify(p.calibratedAt)} is not a real date` });
    const first = seen.get(p.plate);
    if (first !== undefined) issues.push({ path: `/plates/${i}/plate`, message: `plate ${p.plate} is already calibrated at /plates/${first}` });
    else seen.set(p.plate, i);
  });
  if (issues.length > 0) throw new CalibrationFileError(file, issues);
  return parsed;
}

/** Appends a file's calibrations to the history in one transaction; `source` says where they came from. */
export async function importCalibrations(repo: PlateCalibrationRepository, file: string, source: string): Promise<PlateCalibration[]> {
  const parsed = await readCalibrationFile(file);
  const rows: NewPlateCalibration[] = parsed.plates.map((p) => ({
    plate: p.plate,
    zeroCounts: p.zeroCounts,
    countsPerGram: p.countsPerGram,
    knownMassGrams: p.knownMassGrams ?? null,
    operator: p.operator,
    calibratedAt: Date.parse(p.calibratedAt),
    source,
  }));
  return repo.recordAll(rows);
}

/** Date.parse alone accepts 2025-02-30 (as 2 March). */
function isRealDate(iso: string): boolean {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return !Number.isNaN(Date.parse(iso)) && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

function describe(e: ErrorObject): CalibrationIssue {
  switch (e.keyword) {
    case 'required':
      return { path: `${e.instancePath}/${String(e.params['missingProperty'])}`, message: 'required' };
    case 'additionalProperties':
      return { path: `${e.instancePath}/${String(e.params['additionalProperty'])}`, message: 'unknown key' };
    case 'pattern':
      return { path: e.instancePath, message: `is not valid: expected ${(e.parentSchema as { description?: string } | undefined)?.description ?? `pattern ${String(e.params['pattern'])}`}` };
    default:
      return { path: e.instancePath, message: e.message ?? e.keyword };
  }
}
