/**
 * A seeded model of how a UHF RFID reader sees tags, for the simulator and the tests, kept here
 * in code until real read logs exist to fit it. Each `round()` is one inventory round of every
 * antenna it is given; the simulator calls it every `roundIntervalMs`.
 *
 * Per antenna–tag pair and round:
 *
 * 1. Geometry: the distance d (3-D, metres) and the angle θ between the antenna's boresight and
 *    the direction of the tag.
 * 2. Antenna pattern: G(θ) = −min(12 (θ / beamwidth)², frontToBack) dB — the usual parabolic
 *    main lobe (−3 dB at half the half-power beamwidth off axis) over a flat back lobe, which
 *    also stands for the reflections that let an antenna read a little behind itself.
 * 3. Forward link — does the tag power up? Its margin is m = 20 log10(R / d) + f dB, where
 *    R = range × 10^((G(θ) − loss) / 20) is the range in that direction (one-way path loss goes
 *    with d²), `loss` the tag's own attenuation (packaging, pocket, body) and f ~ N(0, fadeSigma)
 *    a fade drawn afresh each round (multipath, people moving). A tag answers when m > 0: a lone
 *    tag at the boresight range answers half the rounds, at half of it 98 % (fadeSigma 3 dB),
 *    and the edge of the field is soft.
 * 4. Bursty misses: a Gilbert–Elliott chain per pair. In the good state a read is lost with
 *    probability goodLoss, in the bad state with badLoss; bad spells last burstMeanRounds on
 *    average, and the chance of falling into one is set so that the long-run loss is missRate.
 * 5. RSSI: rssiAt1m − 10 n log10(d) + 2 (G(θ) − loss) + N(0, rssiSigma), rounded to the reader's
 *    step. Backscatter travels the path twice, so n is 4 in free space and the pattern and the
 *    tag's attenuation count twice (one antenna sends and listens).
 * 6. Stray reads: reflections (glass doors, metal shelving, a trolley) now and then let an antenna
 *    read a tag it does not face: with probability strayChance per round, any tag within
 *    strayRanges boresight ranges is read at a weak RSSI just above the reader's sensitivity.
 *
 * Reads of one reader in a round are stamped `slotMs` apart (Gen2 singulation), in antenna order;
 * readers work in parallel, and the round's reads come back in time order.
 * Not modelled: collisions when many tags share a round (the Q algorithm), tag orientation and
 * detuning on metal or liquids — fold them into `loss` per tag when a scenario needs them.
 */
import type { TagRead } from '../devices/rfid/tag-read.js';
import type { Random } from '../sim/random.js';

export interface ReadModelAntenna {
  reader: string;
  antenna: number;
  /** Position on the store floor and height, metres. */
  x: number;
  y: number;
  z: number;
  /** Boresight direction on the floor, radians: 0 along +x, π/2 along +y. */
  facing: number;
  /** Boresight elevation, radians, positive up (an antenna under a shelf facing up: π/2). */
  tilt?: number;
  /** Boresight distance at which a lone tag answers half the rounds, metres. */
  rangeM: number;
}

export interface ReadModelTag {
  epc: string;
  x: number;
  y: number;
  z: number;
  /** Extra attenuation of this tag, dB (packaging, a pocket, a body in between). */
  lossDb?: number;
}

export interface ReadModelSettings {
  roundsPerSecond: number;
  slotMs: number;
  /** Half-power beamwidth, degrees (circular patch antennas: 60–75°). */
  beamwidthDeg: number;
  frontToBackDb: number;
  fadeSigmaDb: number;
  /** Long-run share of reads lost to bursts, 0.05–0.20 in stores. */
  missRate: number;
  burstMeanRounds: number;
  goodLoss: number;
  badLoss: number;
  /** Boresight RSSI of a tag 1 m away, dBm. */
  rssiAt1mDbm: number;
  pathLossExponent: number;
  rssiSigmaDb: number;
  /** Resolution of the reported RSSI, dB (0: unrounded). */
  rssiStepDb: number;
  strayChance: number;
  strayRanges: number;
  sensitivityDbm: number;
}

export const DEFAULT_READ_MODEL_SETTINGS: ReadModelSettings = {
  roundsPerSecond: 10,
  slotMs: 2.5,
  beamwidthDeg: 70,
  frontToBackDb: 18,
  fadeSigmaDb: 3,
  missRate: 0.12,
  burstMeanRounds: 3,
  goodLoss: 0.02,
  badLoss: 0.85,
  rssiAt1mDbm: -45,
  pathLossExponent: 4,
  rssiSigmaDb: 3,
  rssiStepDb: 1,
  strayChance: 0.002,
  strayRanges: 2,
  sensitivityDbm: -82,
};

/** Pairs further than this many boresight ranges away cannot be read (margin below −15 dB). */
const FAR_RANGES = 6;
/** Tags not passed to `round()` for this many rounds are forgotten. */
const FORGET_ROUNDS = 600;

interface TagChains {
  /** Gilbert–Elliott state per antenna index: 1 = bad spell. */
  bad: Uint8Array;
  lastRound: number;
}

export class RfidReadModel {
  readonly settings: ReadModelSettings;
  private readonly bursts: Random;
  private readonly fading: Random;
  private readonly noise: Random;
  private readonly enterBad: number;
  private readonly leaveBad: number;
  private readonly badShare: number;
  private readonly antennaIndexes = new Map<string, Map<number, number>>();
  private readonly readerIndexes = new Map<string, number>();
  private readerSlots: number[] = [];
  private antennaCount = 0;
  private readonly chains = new Map<string, TagChains>();
  private rounds = 0;

  constructor(random: Random, settings: Partial<ReadModelSettings> = {}) {
    const s = (this.settings = { ...DEFAULT_READ_MODEL_SETTINGS, ...settings });
    this.bursts = random.fork('rfid-bursts');
    this.fading = random.fork('rfid-fading');
    this.noise = random.fork('rfid-rssi');
    this.leaveBad = 1 / Math.max(1, s.burstMeanRounds);
    // Long-run loss = π_bad·badLoss + (1 − π_bad)·goodLoss, solved for π_bad, then for the entry rate.
    this.badShare = Math.min(0.95, Math.max(0, (s.missRate - s.goodLoss) / (s.badLoss - s.goodLoss)));
    this.enterBad = (this.badShare * this.leaveBad) / (1 - this.badShare);
  }

  get roundIntervalMs(): number {
    return 1000 / this.settings.roundsPerSecond;
  }

  /**
   * The reads of one inventory round at `at`. `into` is emptied and filled, so a caller can keep
   * one array for the whole run; the reads are new objects the caller may keep.
   */
  round(at: number, antennas: readonly ReadModelAntenna[], tags: readonly ReadModelTag[], into: TagRead[] = []): TagRead[] {
    into.length = 0;
    this.rounds += 1;
    this.readerSlots.fill(0);
    const s = this.settings;
    for (const tag of tags) this.chainsOf(tag.epc).lastRound = this.rounds;
    for (const antenna of antennas) {
      const index = this.antennaIndex(antenna);
      const readerIndex = this.readerIndexes.get(antenna.reader)!;
      for (const tag of tags) {
        const chain = this.chainsOf(tag.epc);
        const bad = this.stepChain(chain, index);
        const link = linkBudget(antenna, tag, s);
        if (link.distance > FAR_RANGES * antenna.rangeM) continue;
        let rssi: number;
        if (link.marginDb + this.fading.normal(0, s.fadeSigmaDb) > 0) {
          if (this.bursts.chance(bad ? s.badLoss : s.goodLoss)) continue;
          rssi = link.rssiDbm + this.noise.normal(0, s.rssiSigmaDb);
        } else if (link.distance <= s.strayRanges * antenna.rangeM && this.fading.chance(s.strayChance)) {
          rssi = s.sensitivityDbm + Math.abs(this.noise.normal(0, s.rssiSigmaDb));
        } else {
          continue;
        }
        if (s.rssiStepDb > 0) rssi = Math.round(rssi / s.rssiStepDb) * s.rssiStepDb;
        const slot = this.readerSlots[readerIndex]!;
        this.readerSlots[readerIndex] = slot + 1;
        into.push({ reader: antenna.reader, antenna: antenna.antenna, epc: tag.epc, rssi, at: at + slot * s.slotMs });
      }
    }
    // Readers work in parallel: interleave their reads by time (the sort is stable).
    if (this.readerIndexes.size > 1) into.sort(byTime);
    if (this.rounds % FORGET_ROUNDS === 0) this.forgetAbsentTags();
    return into;
  }

  private stepChain(chain: TagChains, index: number): boolean {
    const bad = chain.bad[index] === 1;
    const next = bad ? !this.bursts.chance(this.leaveBad) : this.bursts.chance(this.enterBad);
    chain.bad[index] = next ? 1 : 0;
    return next;
  }

  private chainsOf(epc: string): TagChains {
    let chain = this.chains.get(epc);
    if (!chain) {
      chain = { bad: new Uint8Array(Math.max(4, this.antennaCount)), lastRound: this.rounds };
      // Start in the chain's long-run state, so a tag's first seconds are not special.
      for (let i = 0; i < chain.bad.length; i++) chain.bad[i] = this.bursts.chance(this.badShare) ? 1 : 0;
      this.chains.set(epc, chain);
    } else if (chain.bad.length < this.antennaCount) {
      const grown = new Uint8Array(this.antennaCount * 2);
      grown.set(chain.bad);
      for (let i = chain.bad.length; i < grown.length; i++) grown[i] = this.bursts.chance(this.badShare) ? 1 : 0;
      chain.bad = grown;
    }
    return chain;
  }

  private antennaIndex(antenna: ReadModelAntenna): number {
    let ports = this.antennaIndexes.get(antenna.reader);
    if (!ports) {
      ports = new Map();
      this.antennaIndexes.set(antenna.reader, ports);
      this.readerIndexes.set(antenna.reader, this.readerIndexes.size);
      this.readerSlots.push(0);
    }
    let index = ports.get(antenna.antenna);
    if (index === undefined) {
      index = this.antennaCount++;
      ports.set(antenna.antenna, index);
    }
    return index;
  }

  private forgetAbsentTags(): void {
    for (const [epc, chain] of this.chains) if (this.rounds - chain.lastRound > FORGET_ROUNDS) this.chains.delete(epc);
  }
}

function byTime(a: TagRead, b: TagRead): number {
  return a.at - b.at;
}

export interface LinkBudget {
  distance: number;
  /** Antenna gain towards the tag, dB. */
  gainDb: number;
  /** Forward-link margin before fading, dB. */
  marginDb: number;
  /** Mean RSSI before noise, dBm. */
  rssiDbm: number;
}

const scratch: LinkBudget = { distance: 0, gainDb: 0, marginDb: 0, rssiDbm: 0 };

/** The pair's link before the round's random draws. Returns a shared object: copy what you keep. */
export function linkBudget(antenna: ReadModelAntenna, tag: ReadModelTag, s: ReadModelSettings = DEFAULT_READ_MODEL_SETTINGS): LinkBudget {
  const dx = tag.x - antenna.x;
  const dy = tag.y - antenna.y;
  const dz = tag.z - antenna.z;
  const distance = Math.max(0.05, Math.sqrt(dx * dx + dy * dy + dz * dz));
  const tilt = antenna.tilt ?? 0;
  const along = (Math.cos(tilt) * (Math.cos(antenna.facing) * dx + Math.sin(antenna.facing) * dy) + Math.sin(tilt) * dz) / distance;
  const offAxisDeg = (Math.acos(Math.max(-1, Math.min(1, along))) * 180) / Math.PI;
  const gainDb = -Math.min(12 * (offAxisDeg / s.beamwidthDeg) ** 2, s.frontToBackDb);
  const lossDb = tag.lossDb ?? 0;
  scratch.distance = distance;
  scratch.gainDb = gainDb;
  scratch.marginDb = 20 * Math.log10(antenna.rangeM / distance) + gainDb - lossDb;
  scratch.rssiDbm = s.rssiAt1mDbm - 10 * s.pathLossExponent * Math.log10(distance) + 2 * (gainDb - lossDb);
  return scratch;
}

/** Long-run chance that a round reads the tag at this antenna (fading and bursts averaged, stray reads aside). */
export function readProbability(antenna: ReadModelAntenna, tag: ReadModelTag, s: ReadModelSettings = DEFAULT_READ_MODEL_SETTINGS): number {
  const link = linkBudget(antenna, tag, s);
  if (link.distance > FAR_RANGES * antenna.rangeM) return 0;
  return normalCdf(link.marginDb / s.fadeSigmaDb) * (1 - s.missRate);
}

/** Φ(x) by the Abramowitz–Stegun 7.1.26 erf approximation (error < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
