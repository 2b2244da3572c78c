/**
 * What an RFID tag is, from its EPC: decoding with the GS1 EPC Tag Data Standard (`epc-tds`)
 * and matching serialised GTINs (SGTIN-96, SGTIN-198) to the planogram.
 *
 * A GTIN-14 does not depend on how the EPC splits company prefix and item reference (the
 * partition), so the planogram, which knows no company prefixes, is matched by GTIN-14 alone.
 * When we encode (simulator, tests) we assume a 7-digit company prefix (partition 5), the most
 * common length for GS1 Germany and the demo store's 4006380 prefix.
 */
import { createRequire } from 'node:module';
import type EpcTdsModule from 'epc-tds';
import type { ProductConfig } from '../../../device-config/schema.js';

// epc-tds is CommonJS and replaces `module.exports`, so an ESM default import gets the library
// itself while its typings describe `{ default: library }`: require it and take the typing of
// the `default` member, which is what `require` really returns.
type EpcTds = typeof EpcTdsModule.default;
const tds = createRequire(import.meta.url)('epc-tds') as EpcTds;

export type EpcScheme =
  | 'sgtin-96'
  | 'sgtin-198'
  | 'sscc-96'
  | 'sgln-96'
  | 'sgln-195'
  | 'grai-96'
  | 'grai-170'
  | 'gid-96'
  | 'giai-96'
  | 'giai-202'
  | 'gsrn-96'
  | 'gdti-96'
  | 'gdti-174'
  | 'sgcn-96'
  | 'cpi-96'
  | 'unknown';

export interface DecodedEpc {
  /** The EPC as read, upper-case. */
  epc: string;
  scheme: EpcScheme;
  filter?: number;
  /** SGTIN only: the trade item, GTIN-14 with its check digit. */
  gtin?: string;
  /** SGTIN only: the unit's serial (decimal for SGTIN-96, alphanumeric for SGTIN-198). */
  serial?: string;
  /** Why the EPC could not be decoded ('unknown' scheme only). */
  problem?: string;
}

/** The largest EPC a Gen2 tag can hold: 496 bits. */
const MAX_EPC_HEX = 124;
const HEX = /^[0-9A-F]+$/;
const DEFAULT_COMPANY_PREFIX_DIGITS = 7;

interface SchemeInfo {
  scheme: EpcScheme;
  totalBits: number;
}

const SCHEMES_BY_HEADER = new Map<number, SchemeInfo>(
  [
    tds.Sgtin96,
    tds.Sgtin198,
    tds.Sscc96,
    tds.Sgln96,
    tds.Sgln195,
    tds.Grai96,
    tds.Grai170,
    tds.Gid96,
    tds.Giai96,
    tds.Giai202,
    tds.Gsrn96,
    tds.Gdti96,
    tds.Gdti174,
    tds.Sgcn96,
    tds.Cpi96,
  ].map((c) => [c.EPC_HEADER, { scheme: new c().getType().toLowerCase() as EpcScheme, totalBits: c.TOTAL_BITS }]),
);

/** Decodes a hex EPC. Never throws: anything that is not a well-formed EPC gives scheme 'unknown' and a problem. */
export function decodeEpc(hex: string): DecodedEpc {
  const epc = typeof hex === 'string' ? hex.toUpperCase() : '';
  if (epc.length < 2 || epc.length > MAX_EPC_HEX || epc.length % 2 !== 0 || !HEX.test(epc)) {
    return { epc, scheme: 'unknown', problem: 'not an EPC in hexadecimal' };
  }
  const header = parseInt(epc.slice(0, 2), 16);
  const info = SCHEMES_BY_HEADER.get(header);
  if (!info) return { epc, scheme: 'unknown', problem: `no EPC scheme has header 0x${epc.slice(0, 2)}` };
  // A reader reports the whole EPC bank, so trailing padding is fine; a short one is truncated.
  if (epc.length * 4 < info.totalBits) return { epc, scheme: 'unknown', problem: `${info.scheme} needs ${info.totalBits} bits` };
  try {
    const tag = tds.valueOf(epc);
    const filter = tag.getFilter();
    if (info.scheme !== 'sgtin-96' && info.scheme !== 'sgtin-198') return { epc, scheme: info.scheme, filter };
    const sgtin = tag as InstanceType<EpcTds['Sgtin96']> | InstanceType<EpcTds['Sgtin198']>;
    const problem = sgtinFieldProblem(sgtin.getPartition(), sgtin);
    if (problem) return { epc, scheme: 'unknown', problem };
    return { epc, scheme: info.scheme, filter, gtin: sgtin.getGtin(), serial: String(sgtin.getSerial()) };
  } catch (error) {
    return { epc, scheme: 'unknown', problem: `${info.scheme} does not decode: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Partition 7 and prefixes or item references with more digits than the partition allows are not SGTINs. */
function sgtinFieldProblem(partition: number, sgtin: { getCompanyPrefix(): number; getItemReference(): number }): string | undefined {
  if (partition > 6) return `SGTIN partition ${partition} is reserved`;
  const prefixDigits = 12 - partition;
  if (sgtin.getCompanyPrefix() >= 10 ** prefixDigits) return `SGTIN company prefix has more than ${prefixDigits} digits`;
  if (sgtin.getItemReference() >= 10 ** (13 - prefixDigits)) return `SGTIN item reference has more than ${13 - prefixDigits} digits`;
  return undefined;
}

/** A GTIN-8, -12, -13 or -14 as GTIN-14 (left-padded with zeros). Throws on anything else. */
export function toGtin14(gtin: string): string {
  if (!/^([0-9]{8}|[0-9]{12,14})$/.test(gtin)) throw new RangeError(`"${gtin}" is not a GTIN-8, -12, -13 or -14`);
  return gtin.padStart(14, '0');
}

/**
 * The SGTIN-96 EPC (hex) of one unit of a trade item. `filter` 1 is "point of sale trade item";
 * `companyPrefixDigits` picks the partition (see the top of the file for the default). For the
 * simulator and tests: a bad argument throws.
 */
export function encodeSgtin96(gtin: string, serial: number, filter = 1, companyPrefixDigits = DEFAULT_COMPANY_PREFIX_DIGITS): string {
  const gtin14 = toGtin14(gtin);
  if (checkDigit(gtin14) !== gtin14.charCodeAt(13) - 48) throw new RangeError(`check digit of GTIN ${gtin} is wrong`);
  if (!Number.isInteger(serial) || serial < 0 || serial > tds.Sgtin96.MAX_SERIAL) {
    throw new RangeError(`SGTIN-96 serial must be an integer from 0 to ${tds.Sgtin96.MAX_SERIAL}, not ${serial}`);
  }
  if (!Number.isInteger(filter) || filter < 0 || filter > 7) throw new RangeError(`filter must be 0–7, not ${filter}`);
  if (!Number.isInteger(companyPrefixDigits) || companyPrefixDigits < 6 || companyPrefixDigits > 12) {
    throw new RangeError(`a company prefix has 6 to 12 digits, not ${companyPrefixDigits}`);
  }
  return new tds.Sgtin96()
    .setFilter(filter)
    .setPartition(12 - companyPrefixDigits)
    .setGtin(gtin14)
    .setSerial(serial)
    .toHexString()
    .toUpperCase();
}

function checkDigit(gtin14: string): number {
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += (gtin14.charCodeAt(i) - 48) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
}

export interface EpcIdentity {
  readonly decoded: DecodedEpc;
  /** The planogram product with the tag's GTIN, when there is one. */
  readonly product?: ProductConfig;
}

/** Counted once per EPC while it stays in the cache, so a tag read 10 times a second counts once. */
export interface EpcCatalogCounters {
  lookups: number;
  /** Distinct EPCs decoded (cache misses). */
  decoded: number;
  matched: number;
  /** SGTINs whose GTIN is not in the planogram. */
  unknownGtin: number;
  /** Well-formed EPCs of another scheme (SSCC, GRAI, GIAI, …): not a trade item. */
  nonSgtin: number;
  /** Not hex, truncated, an unknown header or impossible SGTIN fields. */
  undecodable: number;
  /** Matched a product that the planogram says carries no RFID tag: the planogram may be out of date. */
  untaggedProduct: number;
  evicted: number;
}

export const DEFAULT_EPC_CACHE_SIZE = 10_000;

/** Identifies tags as planogram products by GTIN-14, with a bounded cache of recent EPCs. */
export class EpcCatalog {
  readonly counters: EpcCatalogCounters = {
    lookups: 0,
    decoded: 0,
    matched: 0,
    unknownGtin: 0,
    nonSgtin: 0,
    undecodable: 0,
    untaggedProduct: 0,
    evicted: 0,
  };
  private readonly byGtin = new Map<string, ProductConfig>();
  /** Insertion order is recency order: a hit moves its entry to the end, the first entry goes first. */
  private readonly cache = new Map<string, EpcIdentity>();

  constructor(
    products: readonly ProductConfig[],
    private readonly cacheSize = DEFAULT_EPC_CACHE_SIZE,
  ) {
    for (const product of products) {
      const gtin14 = toGtin14(product.gtin);
      if (!this.byGtin.has(gtin14)) this.byGtin.set(gtin14, product);
    }
  }

  /** Number of EPCs currently cached. */
  get cached(): number {
    return this.cache.size;
  }

  productByGtin(gtin: string): ProductConfig | undefined {
    return /^([0-9]{8}|[0-9]{12,14})$/.test(gtin) ? this.byGtin.get(toGtin14(gtin)) : undefined;
  }

  identify(epc: string): EpcIdentity {
    this.counters.lookups += 1;
    const hit = this.cache.get(epc);
    if (hit) {
      this.cache.delete(epc);
      this.cache.set(epc, hit);
      return hit;
    }
    const identity = this.classify(decodeEpc(epc));
    this.cache.set(epc, identity);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
      this.counters.evicted += 1;
    }
    return identity;
  }

  private classify(decoded: DecodedEpc): EpcIdentity {
    const c = this.counters;
    c.decoded += 1;
    if (decoded.scheme === 'unknown') {
      c.undecodable += 1;
      return { decoded };
    }
    if (decoded.gtin === undefined) {
      c.nonSgtin += 1;
      return { decoded };
    }
    const product = this.byGtin.get(decoded.gtin);
    if (!product) {
      c.unknownGtin += 1;
      return { decoded };
    }
    c.matched += 1;
    if (!product.rfidTagged) c.untaggedProduct += 1;
    return { decoded, product };
  }
}
