import type { Database, Statement, Transaction } from 'better-sqlite3';

/** A load cell's zero and span: grams = (raw − zeroCounts) / countsPerGram. */
export interface PlateCalibration {
  id: number;
  /** "G.S.P" */
  plate: string;
  zeroCounts: number;
  countsPerGram: number;
  /** The reference mass the span was measured with, when one was used. */
  knownMassGrams: number | null;
  operator: string;
  /** ms since the epoch. */
  calibratedAt: number;
  /** Where it came from: a file name, `calibrate` CLI, the admin page. */
  source: string;
}

export type NewPlateCalibration = Omit<PlateCalibration, 'id' | 'knownMassGrams'> & { knownMassGrams?: number | null };

interface PlateCalibrationRow {
  id: number;
  plate: string;
  zero_counts: number;
  counts_per_gram: number;
  known_mass_grams: number | null;
  operator: string;
  calibrated_at: number;
  source: string;
}

const fromRow = (r: PlateCalibrationRow): PlateCalibration => ({
  id: r.id,
  plate: r.plate,
  zeroCounts: r.zero_counts,
  countsPerGram: r.counts_per_gram,
  knownMassGrams: r.known_mass_grams,
  operator: r.operator,
  calibratedAt: r.calibrated_at,
  source: r.source,
});

/** Append-only history of plate calibrations; the newest `calibratedAt` per plate is in force. */
export class PlateCalibrationRepository {
  private readonly insert: Statement;
  private readonly newest: Statement;
  private readonly ofPlate: Statement;
  private readonly insertAll: Transaction<(calibrations: readonly NewPlateCalibration[]) => PlateCalibration[]>;

  constructor(db: Database) {
    this.insert = db.prepare(`
      INSERT INTO plate_calibrations (plate, zero_counts, counts_per_gram, known_mass_grams, operator, calibrated_at, source)
      VALUES (@plate, @zeroCounts, @countsPerGram, @knownMassGrams, @operator, @calibratedAt, @source)`);
    this.newest = db.prepare(`
      SELECT * FROM plate_calibrations p
      WHERE id = (SELECT id FROM plate_calibrations q WHERE q.plate = p.plate ORDER BY calibrated_at DESC, id DESC LIMIT 1)
      ORDER BY plate`);
    this.ofPlate = db.prepare('SELECT * FROM plate_calibrations WHERE plate = ? ORDER BY calibrated_at, id');
    this.insertAll = db.transaction((calibrations: readonly NewPlateCalibration[]) => calibrations.map((c) => this.record(c)));
  }

  record(calibration: NewPlateCalibration): PlateCalibration {
    const row = {
      plate: calibration.plate,
      zeroCounts: calibration.zeroCounts,
      countsPerGram: calibration.countsPerGram,
      knownMassGrams: calibration.knownMassGrams ?? null,
      operator: calibration.operator,
      calibratedAt: calibration.calibratedAt,
      source: calibration.source,
    };
    return { id: Number(this.insert.run(row).lastInsertRowid), ...row };
  }

  /** Several calibrations at once: all are stored or none. */
  recordAll(calibrations: readonly NewPlateCalibration[]): PlateCalibration[] {
    return this.insertAll(calibrations);
  }

  /** The calibration in force for each plate that has one. */
  latest(): Map<string, PlateCalibration> {
    return new Map((this.newest.all() as PlateCalibrationRow[]).map((r) => [r.plate, fromRow(r)]));
  }

  /** Every calibration of one plate, oldest first. */
  history(plate: string): PlateCalibration[] {
    return (this.ofPlate.all(plate) as PlateCalibrationRow[]).map(fromRow);
  }
}
