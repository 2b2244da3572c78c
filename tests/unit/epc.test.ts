import { describe, expect, it } from 'vitest';
import { EpcCatalog, decodeEpc, encodeSgtin96, toGtin14 } from '../../edge-agent/src/rfid/epc.js';
import { demoConfig } from '../support/demo-config.js';

const products = demoConfig('/tmp/unused').planogram.products;
const tagged = products.filter((p) => p.rfidTagged);

describe('decodeEpc', () => {
  it('decodes the GS1 Tag Data Standard SGTIN-96 example (urn:epc:tag:sgtin-96:3.0614141.812345.6789)', () => {
    expect(decodeEpc('3074257BF7194E4000001A85')).toEqual({ epc: '3074257BF7194E4000001A85', scheme: 'sgtin-96', filter: 3, gtin: '80614141123458', serial: '6789' });
    // Readers may report lower case, and the whole EPC bank with padding after the 96 bits.
    expect(decodeEpc('3074257bf7194e4000001a85').gtin).toBe('80614141123458');
    expect(decodeEpc('3074257BF7194E4000001A8500000000').serial).toBe('6789');
  });

  it('decodes SGTIN-198 with an alphanumeric serial (the same item, serial "6789", padded to 13 words)', () => {
    // Header 0x36, filter 3, partition 5, 0614141, 812345, then "6789" in 7-bit characters.
    expect(decodeEpc('3674257BF7194E5B3770E4000000000000000000000000000000')).toMatchObject({ scheme: 'sgtin-198', gtin: '80614141123458', serial: '6789', filter: 3 });
  });

  it('names other schemes without a GTIN', () => {
    expect(decodeEpc('3178E61C883950F59A000000')).toEqual({ epc: '3178E61C883950F59A000000', scheme: 'sscc-96', filter: 3 });
    expect(decodeEpc('377A6BB0C1BDA6D9B664D1AB266D1AB266D1AB266D00').scheme).toBe('grai-170');
  });

  it.each([
    ['', 'not an EPC'],
    ['ZZ', 'not an EPC'],
    ['3074257BF7194E4000001A8', 'not an EPC'], // odd length
    ['30G4257BF7194E4000001A85', 'not an EPC'],
    ['3074257BF7194E40', 'needs 96 bits'],
    ['E2801160600002054CC2096F', 'header 0xE2'], // a TID, not an EPC
    ['307C257BF7194E4000001A85', 'partition 7'],
    ['3077FFFFFC00000000001A85', 'company prefix has more than 7 digits'], // 16777215
    ['3074257BF7FFFFC000001A85', 'item reference has more than 6 digits'],
    ['F'.repeat(126), 'not an EPC'],
  ])('gives "unknown" with the reason for %j', (hex, problem) => {
    const decoded = decodeEpc(hex);
    expect(decoded.scheme).toBe('unknown');
    expect(decoded.gtin).toBeUndefined();
    expect(decoded.problem).toContain(problem);
  });
});

describe('encodeSgtin96', () => {
  it('encodes the Tag Data Standard example with its partition', () => {
    expect(encodeSgtin96('80614141123458', 6789, 3, 7)).toBe('3074257BF7194E4000001A85');
  });

  it('round-trips every GTIN length, serial range and company prefix length to the same GTIN-14', () => {
    const cases: [string, number][] = [
      ['40170725', 0], // GTIN-8
      ['036000291452', 1], // GTIN-12 (UPC-A)
      ['4006380000216', 274_877_906_943], // GTIN-13, the largest 38-bit serial
      ['14006380000213', 123_456], // GTIN-14 with indicator digit 1
    ];
    for (const [gtin, serial] of cases) {
      for (const prefixDigits of [6, 7, 9, 12]) {
        const epc = encodeSgtin96(gtin, serial, 1, prefixDigits);
        expect(epc).toMatch(/^30[0-9A-F]{22}$/);
        expect(decodeEpc(epc)).toMatchObject({ scheme: 'sgtin-96', gtin: toGtin14(gtin), serial: String(serial), filter: 1 });
      }
    }
  });

  it('uses a 7-digit company prefix unless told otherwise', () => {
    // Partition 5 is the three bits after the filter: 0x30, then 001 101 … for filter 1.
    expect(encodeSgtin96('4006380000216', 1).slice(0, 4)).toBe('3034');
  });

  it('refuses what cannot be encoded', () => {
    expect(() => encodeSgtin96('4006380000217', 1)).toThrow(/check digit/);
    expect(() => encodeSgtin96('400638000021', 1)).toThrow(RangeError);
    expect(() => encodeSgtin96('4006380000216', 2 ** 38)).toThrow(/serial/);
    expect(() => encodeSgtin96('4006380000216', 1.5)).toThrow(/serial/);
    expect(() => encodeSgtin96('4006380000216', 1, 8)).toThrow(/filter/);
    expect(() => encodeSgtin96('4006380000216', 1, 1, 13)).toThrow(/company prefix/);
  });
});

describe('toGtin14', () => {
  it('left-pads GTIN-8, -12 and -13', () => {
    expect(toGtin14('40170725')).toBe('00000040170725');
    expect(toGtin14('036000291452')).toBe('00036000291452');
    expect(toGtin14('4006380000216')).toBe('04006380000216');
    expect(toGtin14('14006380000213')).toBe('14006380000213');
    expect(() => toGtin14('1234567')).toThrow(RangeError);
    expect(() => toGtin14('40063800002x6')).toThrow(RangeError);
  });
});

describe('EpcCatalog', () => {
  it('identifies the tagged products of the demo planogram by GTIN-14', () => {
    expect(tagged.length).toBeGreaterThanOrEqual(4);
    const catalog = new EpcCatalog(products);
    tagged.forEach((product, i) => {
      for (const prefixDigits of [6, 7, 8]) {
        const epc = encodeSgtin96(product.gtin, 1000 + i, 1, prefixDigits);
        const identity = catalog.identify(epc);
        expect(identity.product?.id).toBe(product.id);
        expect(identity.decoded.serial).toBe(String(1000 + i));
      }
    });
    expect(catalog.counters).toMatchObject({ lookups: tagged.length * 3, matched: tagged.length * 3, unknownGtin: 0, untaggedProduct: 0 });
    expect(catalog.productByGtin(tagged[0]!.gtin)?.id).toBe(tagged[0]!.id);
  });

  it('counts each unknown, foreign or bad EPC once while it is cached', () => {
    const catalog = new EpcCatalog(products);
    const stranger = encodeSgtin96('036000291452', 7); // a GTIN the store does not sell
    const untagged = encodeSgtin96(products.find((p) => !p.rfidTagged)!.gtin, 8);
    const reads = [stranger, stranger, '3178E61C883950F59A000000', 'E2801160600002054CC2096F', 'not hex', untagged, stranger];
    const identities = reads.map((epc) => catalog.identify(epc));
    expect(identities.map((i) => i.decoded.scheme)).toEqual(['sgtin-96', 'sgtin-96', 'sscc-96', 'unknown', 'unknown', 'sgtin-96', 'sgtin-96']);
    expect(identities[0]!.product).toBeUndefined();
    expect(identities[5]!.product?.rfidTagged).toBe(false);
    expect(catalog.counters).toEqual({ lookups: 7, decoded: 5, matched: 1, unknownGtin: 1, nonSgtin: 1, undecodable: 2, untaggedProduct: 1, evicted: 0 });
  });

  it('keeps its cache bounded, dropping the least recently used EPC', () => {
    const catalog = new EpcCatalog(products, 100);
    const gtin = tagged[0]!.gtin;
    const first = encodeSgtin96(gtin, 0);
    for (let serial = 0; serial < 1_000; serial++) {
      catalog.identify(encodeSgtin96(gtin, serial));
      catalog.identify(first); // stays recent, so it is never evicted
    }
    expect(catalog.cached).toBe(100);
    expect(catalog.counters.evicted).toBe(1_000 - 100);
    const decodedBefore = catalog.counters.decoded;
    catalog.identify(first);
    catalog.identify(encodeSgtin96(gtin, 999));
    expect(catalog.counters.decoded).toBe(decodedBefore);
    catalog.identify(encodeSgtin96(gtin, 1));
    expect(catalog.counters.decoded).toBe(decodedBefore + 1);
  });
});
