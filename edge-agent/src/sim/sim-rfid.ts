/**
 * Simulated RFID readers: every reader of the store configuration, speaking its own protocol
 * (R200 frames or ASCII lines), runs inventory rounds over the tags near its antennas — units on
 * shelves, units in shoppers' hands and baskets — through the read model (bursty misses, fading,
 * RSSI noise, stray reflections).
 *
 * Antennas are placed from the store layout: a shelf antenna sits at the left end of its shelf,
 * looking along it (the shelf's own units are in its beam; the metal boards shield the shelves
 * above and below by 20 dB); an exit gate gets one pedestal beside the doorway with its inside and
 * outside antennas 0.75 m either side of the doorway line, facing across the walkway and turned
 * 30° towards their own side.
 */
import type { RfidReaderConfig } from '../../../device-config/schema.js';
import type { TagRead } from '../devices/rfid/tag-read.js';
import { encodeAsciiTagLine } from '../devices/rfid/ascii-rfid-protocol.js';
import { encodeErrorResponse, encodeTagNotification, R200_NO_TAG } from '../devices/rfid/r200-protocol.js';
import { RfidReadModel, type ReadModelAntenna, type ReadModelTag } from '../rfid/rfid-read-model.js';
import type { Random } from './random.js';
import type { StoreLayout, Vec2 } from './store-layout.js';
import type { GatePlace } from './visit-planner.js';

const SHELF_RANGE_M = 4;
const GATE_RANGE_M = 4;
const OTHER_SHELF_LOSS_DB = 20;
const HELD_LOSS_DB = 3;
const PEDESTAL_OFFSET_M = 0.9;
const ANTENNA_SETBACK_M = 0.75;
const TURN = Math.PI / 6;
/** Tags further than this from every antenna of a reader are not even considered. */
const CONSIDER_M = 6;

/** A tag somewhere in the world this round. */
export interface WorldTag {
  epc: string;
  x: number;
  y: number;
  z: number;
  /** "G.S" when the unit lies on a shelf. */
  shelf: string | undefined;
}

export interface SimReader {
  config: RfidReaderConfig;
  simName: string;
  antennas: ReadModelAntenna[];
  /** Shelf of each antenna (undefined for gate antennas), same order. */
  antennaShelves: (string | undefined)[];
}

export class SimRfid {
  readonly readers: SimReader[];
  private readonly model: RfidReadModel;
  private readonly reads: TagRead[] = [];
  private readonly tags: ReadModelTag[] = [];

  constructor(
    layout: StoreLayout,
    exit: GatePlace,
    random: Random,
    missRate: number,
  ) {
    this.model = new RfidReadModel(random.fork('rfid'), { missRate });
    this.readers = layout.config.rfid.readers.map((config) => ({
      config,
      simName: config.device.startsWith('sim://') ? config.device.slice('sim://'.length) : config.id,
      antennas: config.antennas.map((a) => placeAntenna(layout, exit, config.id, a)),
      antennaShelves: config.antennas.map((a) => (a.role === 'shelf' ? a.shelf : undefined)),
    }));
  }

  get roundIntervalMs(): number {
    return this.model.roundIntervalMs;
  }

  /**
   * One inventory round of one reader: the bytes it sends (one frame or line per read, or an R200
   * "no tag" answer when the round found nothing), each with the time it leaves the reader.
   */
  round(reader: SimReader, at: number, world: readonly WorldTag[]): { at: number; bytes: Buffer }[] {
    this.tags.length = 0;
    for (const t of world) {
      let near = false;
      for (const a of reader.antennas) if (Math.hypot(t.x - a.x, t.y - a.y) < CONSIDER_M) near = true;
      if (!near) continue;
      let lossDb = t.shelf === undefined ? HELD_LOSS_DB : 0;
      // A shelf reader's antenna is shielded from the shelves above and below by the metal boards.
      if (t.shelf !== undefined && reader.antennaShelves.some((s) => s !== undefined) && !reader.antennaShelves.includes(t.shelf)) lossDb = OTHER_SHELF_LOSS_DB;
      this.tags.push({ epc: t.epc, x: t.x, y: t.y, z: t.z, lossDb });
    }
    const reads = this.model.round(at, reader.antennas, this.tags, this.reads);
    const out: { at: number; bytes: Buffer }[] = [];
    if (reader.config.protocol === 'r200') {
      for (const r of reads) out.push({ at: r.at, bytes: encodeTagNotification({ rssi: clampRssi(r.rssi), epc: r.epc }) });
      if (reads.length === 0) out.push({ at, bytes: encodeErrorResponse(R200_NO_TAG) });
    } else {
      for (const r of reads) out.push({ at: r.at, bytes: encodeAsciiTagLine({ epc: r.epc, antenna: r.antenna, rssi: Math.round(r.rssi) }) });
    }
    return out;
  }
}

function placeAntenna(layout: StoreLayout, exit: GatePlace, reader: string, a: RfidReaderConfig['antennas'][number]): ReadModelAntenna {
  if (a.role === 'shelf' && a.shelf) {
    const shelf = layout.shelves.get(a.shelf);
    const g = shelf && layout.gondolas.find((x) => x.id === shelf.gondola);
    if (shelf && g) {
      const v = g.depthM / 2;
      return {
        reader,
        antenna: a.port,
        x: g.origin.x + g.inward.x * v - g.along.x * 0.05,
        y: g.origin.y + g.inward.y * v - g.along.y * 0.05,
        z: shelf.heightM + 0.04,
        facing: Math.atan2(g.along.y, g.along.x),
        rangeM: SHELF_RANGE_M,
      };
    }
  }
  // Gate antennas: a pedestal beside the doorway.
  const door = doorPoint(exit);
  const out = unit({ x: exit.outside.x - exit.inside.x, y: exit.outside.y - exit.inside.y });
  const across = { x: -out.y, y: out.x };
  const side = a.role === 'gate-outside' ? 1 : -1;
  const x = door.x + across.x * PEDESTAL_OFFSET_M + out.x * side * ANTENNA_SETBACK_M;
  const y = door.y + across.y * PEDESTAL_OFFSET_M + out.y * side * ANTENNA_SETBACK_M;
  // Facing back across the walkway, turned towards its own side.
  const fx = -across.x * Math.cos(TURN) + out.x * side * Math.sin(TURN);
  const fy = -across.y * Math.cos(TURN) + out.y * side * Math.sin(TURN);
  return { reader, antenna: a.port, x, y, z: 1, facing: Math.atan2(fy, fx), rangeM: GATE_RANGE_M };
}

/** Where the walkway crosses the wall: the gate stands 0.3 m inside its outside point. */
function doorPoint(exit: GatePlace): Vec2 {
  const out = unit({ x: exit.outside.x - exit.inside.x, y: exit.outside.y - exit.inside.y });
  return { x: exit.outside.x - out.x * 0.3, y: exit.outside.y - out.y * 0.3 };
}

function unit(v: Vec2): Vec2 {
  const n = Math.hypot(v.x, v.y) || 1;
  return { x: v.x / n, y: v.y / n };
}

function clampRssi(rssi: number): number {
  return Number.isFinite(rssi) ? Math.max(-128, Math.min(127, Math.round(rssi))) : -90;
}
