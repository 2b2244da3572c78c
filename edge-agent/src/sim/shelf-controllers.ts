/**
 * Simulated shelf controllers: one per shelf, sampling every plate at 60 Hz on its own slightly
 * wrong crystal and speaking the real line protocol. Plate noise, slow drift, lost and corrupted
 * lines and a failing plate are shaped after the real store data in ../shared/README.md.
 */
import { encodeErrorLine, encodeIdentityLine, encodeSampleLine, ADC_MAX } from '../devices/scale/scale-line-protocol.js';
import type { ScenarioKnobs } from './scenario.js';
import type { DisturbanceSet } from './shelf-disturbances.js';
import type { ShelfStock } from './shelf-stock.js';
import { hash32, Random } from './random.js';
import type { ShelfLayout } from './store-layout.js';

export const SAMPLE_RATE_HZ = 60;
const BAUD = 115_200;

/** Hardware of one plate: fixed per installation, not per simulated day. */
export interface PlateHardware {
  plate: string;
  zeroCounts: number;
  countsPerGram: number;
  /** What calibration measured; close to but not exactly the truth. */
  calibratedCountsPerGram: number;
}

interface PlateState {
  hardware: PlateHardware;
  sigma: number;
  /** Grams per ms of slow drift, and the drift accumulated. */
  driftRate: number;
  drift: number;
  stuckRaw: number | undefined;
}

export interface ControllerOutput {
  /** Store time the bytes reach the host. */
  at: number;
  bytes: Buffer;
}

export class SimShelfController {
  readonly device: string;
  readonly simName: string;
  private readonly plates: PlateState[];
  private readonly raw: Int32Array;
  private readonly plateError: Uint8Array;
  private readonly periodMs: number;
  private readonly bootDeviceMs: number;
  private tickIndex = 0;
  private seq: number;
  private failureAnnounced = false;

  constructor(
    readonly shelf: ShelfLayout,
    storeId: string,
    private readonly random: Random,
    private readonly knobs: ScenarioKnobs,
    private readonly startAt: number,
  ) {
    this.device = `shelf-${shelf.key}`;
    this.simName = shelf.device.startsWith('sim://') ? shelf.device.slice('sim://'.length) : this.device;
    const hardware = new Random(hash32(`hardware:${storeId}:${shelf.key}`));
    this.periodMs = (1000 / SAMPLE_RATE_HZ) * (1 + hardware.normal(0, 30e-6));
    this.bootDeviceMs = hardware.int(5_000, 3_000_000);
    this.seq = hardware.int(0, 0xffff);
    this.plates = shelf.plates.map((p) => {
      const plateHw = new Random(hash32(`hardware:${storeId}:${p.key}`));
      const countsPerGram = plateHw.between(190, 230) * (plateHw.chance(0.5) ? 1 : -1);
      const sigma = Math.min(knobs.noiseMaxG, random.logNormal(knobs.noiseMedianG, Math.max(knobs.noiseMedianG, knobs.noiseP90G)));
      return {
        hardware: {
          plate: p.key,
          zeroCounts: plateHw.int(-600_000, 600_000),
          countsPerGram,
          calibratedCountsPerGram: countsPerGram * (1 + plateHw.normal(0, 0.0005)),
        },
        sigma,
        driftRate: (random.between(-1, 1) * knobs.driftMaxGPerHour + (knobs.driftingPlate?.plate === p.key ? knobs.driftingPlate.gPerHour : 0)) / 3_600_000,
        drift: 0,
        stuckRaw: undefined,
      };
    });
    this.raw = new Int32Array(shelf.plates.length);
    this.plateError = new Uint8Array(shelf.plates.length);
  }

  /** How the world and its sinks name this controller. */
  get ref(): { device: string; url: string; simName: string; kind: 'scale' } {
    return { device: this.device, url: this.shelf.device, simName: this.simName, kind: 'scale' };
  }

  get hardware(): PlateHardware[] {
    return this.plates.map((p) => p.hardware);
  }

  /** Noise sigma of each plate in grams (ground truth for the shelf tests). */
  get noise(): { plate: string; sigma: number; driftGPerHour: number }[] {
    return this.plates.map((p) => ({ plate: p.hardware.plate, sigma: p.sigma, driftGPerHour: p.driftRate * 3_600_000 }));
  }

  /** Store time of the next sample. */
  get nextAt(): number {
    return this.startAt + this.tickIndex * this.periodMs;
  }

  /** The identity line a controller sends at boot. */
  boot(): ControllerOutput {
    const bytes = encodeIdentityLine({ firmware: 'shelfctl-2.3.1', serial: `SC${(hash32(this.device) >>> 0).toString(16).toUpperCase()}`, plateCount: this.plates.length, sampleRateHz: SAMPLE_RATE_HZ });
    return { at: this.startAt + this.transmitMs(bytes.length), bytes };
  }

  /** Takes the sample due at `nextAt`; returns the bytes on the wire (none when the line is lost). */
  sample(stock: ShelfStock, disturbances: DisturbanceSet): ControllerOutput[] {
    const t = this.nextAt;
    this.tickIndex += 1;
    this.seq = (this.seq + 1) & 0xffff;
    const out: ControllerOutput[] = [];
    const failure = this.knobs.failingPlate;
    const failingIndex = failure && t - this.startAt >= failure.atSeconds * 1000 ? this.shelf.plates.findIndex((p) => p.key === failure.plate) : -1;
    for (let i = 0; i < this.plates.length; i++) {
      const plate = this.plates[i]!;
      plate.drift += plate.driftRate * this.periodMs;
      const grams = stock.load(plate.hardware.plate) + disturbances.on(plate.hardware.plate, t) + plate.drift + this.random.normal(0, plate.sigma);
      let raw = Math.round(plate.hardware.zeroCounts + grams * plate.hardware.countsPerGram);
      raw = Math.max(-8_388_608, Math.min(ADC_MAX, raw));
      this.plateError[i] = 0;
      if (i === failingIndex) {
        if (failure!.mode === 'error') this.plateError[i] = 1;
        else if (failure!.mode === 'stuck') raw = plate.stuckRaw ??= raw;
        else raw = ADC_MAX;
      }
      this.raw[i] = raw;
    }
    if (failingIndex >= 0 && failure!.mode === 'error' && !this.failureAnnounced) {
      this.failureAnnounced = true;
      const bytes = encodeErrorLine({ deviceTs: this.deviceMs(t), code: 101, plate: failingIndex + 1, text: 'PLATE_FAULT' });
      out.push({ at: t + this.transmitMs(bytes.length), bytes });
    }
    if (this.random.chance(this.knobs.dropRate)) return out;
    const line = encodeSampleLine({ deviceTs: this.deviceMs(t), seq: this.seq, raw: this.raw, plateError: this.plateError });
    if (this.random.chance(this.knobs.corruptRate)) {
      const i = this.random.int(1, line.length - 3);
      line[i] = line[i]! ^ (1 << this.random.int(0, 6));
    }
    const at = t + this.transmitMs(line.length);
    // A UART driver hands lines over in pieces now and then; the parser must not care.
    if (this.random.chance(0.05)) {
      const cut = this.random.int(1, line.length - 1);
      out.push({ at: at - 0.5, bytes: line.subarray(0, cut) }, { at, bytes: line.subarray(cut) });
    } else out.push({ at, bytes: line });
    return out;
  }

  private deviceMs(t: number): number {
    return Math.floor(this.bootDeviceMs + (t - this.startAt)) >>> 0;
  }

  private transmitMs(bytes: number): number {
    return (bytes * 10 * 1000) / BAUD;
  }
}
