import { describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { TagPassageRepository } from '../../edge-agent/src/db/repositories/rfid.js';
import type { TagRead } from '../../edge-agent/src/devices/rfid/tag-read.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { encodeSgtin96, toGtin14 } from '../../edge-agent/src/rfid/epc.js';
import type { TagPassage } from '../../edge-agent/src/rfid/rfid-facts.js';
import { RfidMonitor } from '../../edge-agent/src/rfid/rfid-monitor.js';
import type { StoreConfig } from '../../device-config/schema.js';
import { gtinCheckDigitOk } from '../../device-config/cross-references.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const T0 = 1_800_000_000_000;

async function setUp(policy: 'bill' | 'alert' = 'bill') {
  const base = demoConfig(tempDir());
  const config: StoreConfig = { ...base, rfid: { ...base.rfid, exitPolicy: policy } };
  const database = new StoreDatabase(config.dataDir, silentLogger());
  await database.start();
  const bus = new EventBus(silentLogger());
  const passages: TagPassage[] = [];
  const alerts: string[] = [];
  bus.on('rfid.passage', 'test', (p) => void passages.push(p));
  bus.on('alert.raised', 'test', (a) => void alerts.push(`${a.kind}:${a.subject}`));
  const monitor = new RfidMonitor(config, database, bus, silentLogger());
  await monitor.start();
  return { config, database, monitor, passages, alerts, gates: new GateEventRepository(database.handle) };
}

/**
 * A tag carried through the demo's exit reader: 2 s of inside reads, then 2 s of outside reads,
 * 10 per second; `atCrossing` runs when it crosses (a person passing the gate's beam), and a read
 * elsewhere 10 s later moves time on so the passage is decided.
 */
function carryOut(monitor: RfidMonitor, epc: string, from: number, atCrossing: (at: number) => void = () => undefined): void {
  let at = from;
  for (let i = 0; i < 20; i++, at += 100) monitor.sink({ reader: 'rfid-exit', antenna: 1, epc, rssi: -48 - (i % 3), at } satisfies TagRead);
  atCrossing(from + 2_000);
  for (let i = 0; i < 20; i++, at += 100) monitor.sink({ reader: 'rfid-exit', antenna: 2, epc, rssi: -47 - (i % 4), at });
  monitor.sink({ reader: 'rfid-shelf-2.4', antenna: 1, epc: 'E200000000000000000000FF', rssi: -60, at: at + 10_000 });
}

/** A valid GTIN-14 that is in no planogram. */
function unknownGtin(): string {
  const body = '0999999999999';
  for (let d = 0; d <= 9; d++) if (gtinCheckDigitOk(body + d)) return body + d;
  throw new Error('no check digit');
}

const product = (config: StoreConfig) => config.planogram.products.find((p) => p.id === 'charger-usb-c')!;

describe('RfidMonitor at the exit gate', () => {
  it('bills a tag that leaves with a shopper once, and never again', async () => {
    const { config, database, monitor, passages, gates } = await setUp();
    const epc = encodeSgtin96(toGtin14(product(config).gtin), 4711);
    const pass = (at: number) => void gates.record({ gate: 'gate-exit', kind: 'pass', direction: 'out', at });
    carryOut(monitor, epc, T0, pass);
    expect(passages).toHaveLength(1);
    expect(passages[0]).toMatchObject({ direction: 'out', product: 'charger-usb-c', serial: '4711', outcome: 'billable', billable: true });
    expect(passages[0]!.gateEventId).not.toBeNull();

    // The same item comes back another day and leaves again with someone: never billed twice.
    carryOut(monitor, epc, T0 + 600_000, pass);
    expect(passages[1]).toMatchObject({ direction: 'out', outcome: 'already-billed', billable: false });

    // And the database itself refuses a second bill for one serial number.
    const repo = new TagPassageRepository(database.handle);
    expect(() => repo.record({ ...passages[0]!, at: T0 + 999_999 })).toThrow(/UNIQUE constraint failed/);
    await monitor.stop();
    await database.stop();
  });

  it('alerts staff when a tag leaves with nobody passing the gate, once while the alert is open', async () => {
    const { config, database, monitor, passages, alerts } = await setUp();
    const epc = encodeSgtin96(toGtin14(product(config).gtin), 99);
    carryOut(monitor, epc, T0);
    carryOut(monitor, epc, T0 + 120_000);
    expect(passages.map((p) => p.outcome)).toEqual(['unowned', 'unowned']);
    expect(alerts).toEqual([`rfid-exit-unowned:${epc}`]);
    await monitor.stop();
    await database.stop();
  });

  it('alerts instead of billing under the alert policy, and keeps unknown tags as raw EPCs', async () => {
    const { config, database, monitor, passages, alerts, gates } = await setUp('alert');
    const epc = encodeSgtin96(toGtin14(product(config).gtin), 5);
    const unknown = encodeSgtin96(unknownGtin(), 5);
    const pass = (at: number) => void gates.record({ gate: 'gate-exit', kind: 'pass', direction: 'out', at });
    carryOut(monitor, epc, T0, pass);
    carryOut(monitor, unknown, T0 + 60_000, pass);
    expect(passages.map((p) => [p.outcome, p.billable])).toEqual([
      ['alert-policy', false],
      ['unknown-product', false],
    ]);
    expect(passages[1]).toMatchObject({ product: null, epc: unknown });
    expect(alerts).toEqual([`rfid-exit:${epc}`]);
    expect(monitor.health()).toMatchObject({ epc: { unknownGtin: 1 } });
    await monitor.stop();
    await database.stop();
  });

  it('decides a passage still open when it stops', async () => {
    const { config, database, monitor, passages, gates } = await setUp();
    const epc = encodeSgtin96(toGtin14(product(config).gtin), 7);
    let at = T0;
    for (let i = 0; i < 20; i++, at += 100) monitor.sink({ reader: 'rfid-exit', antenna: 1, epc, rssi: -48, at });
    for (let i = 0; i < 20; i++, at += 100) monitor.sink({ reader: 'rfid-exit', antenna: 2, epc, rssi: -47, at });
    gates.record({ gate: 'gate-exit', kind: 'pass', direction: 'out', at: T0 + 2_000 });
    expect(passages).toHaveLength(0);
    await monitor.stop();
    expect(passages.map((p) => p.outcome)).toEqual(['billable']);
    await database.stop();
  });
});
