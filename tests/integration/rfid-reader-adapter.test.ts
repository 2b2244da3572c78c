import { afterEach, describe, expect, it } from 'vitest';
import type { RfidReaderConfig } from '../../device-config/schema.js';
import { EventBus } from '../../edge-agent/src/bus.js';
import { VirtualClock } from '../../edge-agent/src/clock.js';
import type { DeviceAvailability } from '../../edge-agent/src/devices/device-availability.js';
import { encodeAsciiTagLine } from '../../edge-agent/src/devices/rfid/ascii-rfid-protocol.js';
import {
  R200Decoder,
  R200_COMMAND,
  R200_NO_TAG,
  encodeErrorResponse,
  encodeSetPower,
  encodeSetRegion,
  encodeStartPolling,
  encodeStatusResponse,
  encodeStopPolling,
  encodeTagNotification,
  type R200TagFields,
} from '../../edge-agent/src/devices/rfid/r200-protocol.js';
import { RfidReaderAdapter } from '../../edge-agent/src/devices/rfid/rfid-reader-adapter.js';
import type { TagRead, TagReadSink } from '../../edge-agent/src/devices/rfid/tag-read.js';
import { createTransport } from '../../edge-agent/src/devices/serial/transport-factory.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { DeviceEnd, PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const NOW = 1_700_000_000_000;
const STALL_MS = 600;
const POLL_MS = 30;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * An R200 module at the device end of the pty: it answers set-up commands and, while polling,
 * sends one queued tag or a no-tag error every POLL_MS — the way a real module streams.
 */
class FakeR200 {
  readonly commands: number[] = [];
  polling = false;
  /** False: the module ignores commands and says nothing (a hung module). */
  alive = true;
  readonly queue: Buffer[] = [];
  private seen = 0;
  private readonly decoder = new R200Decoder({ command: (frame) => this.onCommand(frame.command) });
  private readonly timer: NodeJS.Timeout;

  constructor(readonly device: DeviceEnd) {
    this.timer = setInterval(() => this.tick(), POLL_MS);
  }

  tags(...tags: R200TagFields[]): void {
    for (const tag of tags) this.queue.push(encodeTagNotification(tag));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const got = this.device.received;
    if (got.length > this.seen) {
      const fresh = Buffer.from(got.slice(this.seen), 'latin1');
      this.seen = got.length;
      if (this.alive) this.decoder.push(fresh, 0);
    }
    if (!this.polling || !this.alive) return;
    this.send(this.queue.shift() ?? encodeErrorResponse(R200_NO_TAG));
  }

  private onCommand(command: number): void {
    this.commands.push(command);
    if (command === R200_COMMAND.startPolling) this.polling = true;
    if (command === R200_COMMAND.stopPolling) this.polling = false;
    if (command === R200_COMMAND.setRegion || command === R200_COMMAND.setPower || command === R200_COMMAND.stopPolling) this.send(encodeStatusResponse(command));
  }

  private send(bytes: Buffer): void {
    this.device.write(bytes).catch(() => undefined);
  }
}

function reader(overrides: Partial<RfidReaderConfig> & { device: string }): RfidReaderConfig {
  return { id: 'rfid-shelf-2.4', protocol: 'r200', antennas: [{ port: 3, role: 'shelf', shelf: '2.4' }], ...overrides };
}

async function setUp(config: (url: string) => RfidReaderConfig, options: { sink?: TagReadSink; stallMs?: number } = {}) {
  const pair = new PtyPair(tempDir());
  await pair.plugIn();
  cleanups.push(() => pair.unplug());
  let device = await DeviceEnd.open(pair.b);
  cleanups.push(() => device.close());
  const clock = new VirtualClock(NOW);
  const bus = new EventBus(silentLogger());
  const availability: DeviceAvailability[] = [];
  bus.on('device.availability', 'test', (a) => void availability.push(a));
  const reads: TagRead[] = [];
  const readObjects = new Set<TagRead>();
  const adapter = new RfidReaderAdapter({
    reader: config(`serial://${pair.a}`),
    transport: (url) => createTransport(url, { clock }),
    clock,
    log: silentLogger(),
    bus,
    sink:
      options.sink ??
      ((read) => {
        readObjects.add(read);
        reads.push({ ...read });
      }),
    stallMs: options.stallMs ?? STALL_MS,
    backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
  });
  return {
    pair,
    adapter,
    availability,
    reads,
    readObjects,
    device: () => device,
    replaceDevice: async () => {
      device = await DeviceEnd.open(pair.b);
      cleanups.push(() => device.close());
      return device;
    },
    start: async () => {
      await adapter.start();
      cleanups.push(() => adapter.stop());
    },
    counters: () => adapter.health()['counters'] as Record<string, number>,
  };
}

const latin1 = (...frames: Buffer[]) => Buffer.concat(frames).toString('latin1');

describe('RfidReaderAdapter with an R200 module on a pty', () => {
  it('sets the module up on connect, delivers its reads and counts its errors', async () => {
    const h = await setUp((url) => reader({ device: url, powerDbm: 20 }));
    const module = new FakeR200(h.device());
    cleanups.push(async () => module.stop());
    await h.start();
    await waitFor(() => module.polling, 5_000, 'polling started');
    // Exactly region (Europe), power (20 dBm = 2000), then polling until stopped.
    expect(h.device().received).toBe(latin1(encodeSetRegion('europe'), encodeSetPower(20), encodeStartPolling(0xffff)));
    expect(h.device().received).toBe(latin1(Buffer.from('BB0007000103 0B7E BB00B6000207D08F7E BB0027000322FFFF4A7E'.replace(/ /g, ''), 'hex')));
    await waitFor(() => h.availability.length === 1, 5_000, 'online');
    expect(h.availability).toEqual([{ device: 'rfid-shelf-2.4', kind: 'rfid', online: true, at: NOW }]);

    module.tags({ rssi: -55, epc: '30751FEB705C5904E3D50D70', pc: 0x3400 }, { rssi: -61, epc: 'E28011606000020B6D2D5A1B' });
    await waitFor(() => h.reads.length === 2, 5_000, 'two reads');
    // The module's one antenna is the configured port 3, whatever the module itself calls it.
    expect(h.reads).toEqual([
      { reader: 'rfid-shelf-2.4', antenna: 3, epc: '30751FEB705C5904E3D50D70', rssi: -55, at: NOW },
      { reader: 'rfid-shelf-2.4', antenna: 3, epc: 'E28011606000020B6D2D5A1B', rssi: -61, at: NOW },
    ]);
    expect(h.readObjects.size).toBe(1);
    await waitFor(() => h.counters()['noTagResponses']! >= 5, 5_000, 'no-tag responses');

    module.queue.push(encodeErrorResponse(0x20), encodeErrorResponse(0x20), encodeErrorResponse(0x42));
    await waitFor(() => h.counters()['moduleErrors'] === 3, 5_000, 'module errors');
    const health = h.adapter.health();
    expect(health).toMatchObject({
      status: 'up',
      state: 'online',
      protocol: 'r200',
      moduleErrors: { '0x20 FHSS_FAILED': 2, '0x42 CODE_0x42': 1 },
      lastModuleError: { code: 0x42, name: 'CODE_0x42', at: NOW },
    });
    expect(health['counters']).toMatchObject({ reads: 2, rejectedCommands: 0, commandTimeouts: 0, checksumErrors: 0, framingErrors: 0, stalls: 0, reconnects: 0, sinkErrors: 0 });
    expect(h.counters()['frames']).toBe(2 + h.counters()['noTagResponses']! + 3 + 2);

    // Stopping tells the module to stop polling before the port closes.
    await h.adapter.stop();
    expect(h.device().received.endsWith(latin1(encodeStopPolling()))).toBe(true);
    expect(module.polling).toBe(false);
    expect(h.availability.at(-1)).toMatchObject({ online: false, reason: 'stopped' });
  });

  it('reassembles frames split into single bytes and finds them among garbage', async () => {
    const h = await setUp((url) => reader({ device: url }), { stallMs: 5_000 });
    const module = new FakeR200(h.device());
    cleanups.push(async () => module.stop());
    await h.start();
    await waitFor(() => module.polling, 5_000, 'polling started');
    expect(h.device().received).toBe(latin1(encodeSetRegion('europe'), encodeStartPolling()));
    module.polling = false;
    const badChecksum = encodeTagNotification({ rssi: -40, epc: 'E2000000000000000000BAD1' });
    badChecksum[badChecksum.length - 2] = badChecksum.at(-2)! ^ 0xff;
    const stream = Buffer.concat([
      Buffer.from('\x00\xbb\x7e\x13garbage', 'latin1'),
      encodeTagNotification({ rssi: -48, epc: 'BBBB7E7EBB7E00BB' }),
      badChecksum,
      encodeTagNotification({ rssi: -70, epc: 'E28011606000020B6D2D5A1B' }).subarray(0, 9),
      encodeTagNotification({ rssi: -72, epc: 'E2003412' }),
    ]);
    for (const byte of stream) await h.device().write(Buffer.from([byte]));
    await waitFor(() => h.reads.length === 2, 5_000, 'two reads');
    expect(h.reads.map((r) => [r.epc, r.rssi])).toEqual([
      ['BBBB7E7EBB7E00BB', -48],
      ['E2003412', -72],
    ]);
    expect(h.counters()).toMatchObject({ checksumErrors: 1, truncated: 1, reads: 2 });
    expect(h.counters()['garbageBytes']).toBeGreaterThanOrEqual(11 + badChecksum.length + 9);
  });

  it('goes offline when unplugged, and when plugged back in sets the module up again and reads resume', async () => {
    const h = await setUp((url) => reader({ device: url, powerDbm: 26 }));
    let module = new FakeR200(h.device());
    cleanups.push(async () => module.stop());
    await h.start();
    await waitFor(() => module.polling, 5_000, 'polling started');
    module.tags({ rssi: -50, epc: 'E2000000000000000000000A' });
    await waitFor(() => h.reads.length === 1, 5_000, 'a read');

    module.stop();
    await h.device().close();
    await h.pair.unplug();
    await waitFor(() => h.availability.length === 2, 5_000, 'offline');
    expect(h.availability[1]).toMatchObject({ device: 'rfid-shelf-2.4', kind: 'rfid', online: false });
    expect(h.adapter.health()).toMatchObject({ status: 'degraded' });
    await waitFor(() => h.counters()['openFailures']! >= 2, 5_000, 'retries while unplugged');

    await h.pair.plugIn();
    module = new FakeR200(await h.replaceDevice());
    await waitFor(() => module.polling, 5_000, 'polling started again');
    // Bytes sent before the device end reopened may be lost; a stall then makes the adapter try again.
    expect(module.commands.at(-1)).toBe(R200_COMMAND.startPolling);
    expect(h.device().received.endsWith(latin1(encodeSetPower(26), encodeStartPolling()))).toBe(true);
    await waitFor(() => h.availability.length === 3, 5_000, 'online again');
    expect(h.availability[2]).toMatchObject({ online: true });
    module.tags({ rssi: -51, epc: 'E2000000000000000000000B' });
    await waitFor(() => h.reads.length === 2, 5_000, 'a read after the replug');
    expect(h.reads[1]).toMatchObject({ epc: 'E2000000000000000000000B', rssi: -51, antenna: 3 });
    expect(h.counters()['reconnects']).toBeGreaterThanOrEqual(1);
  });

  it('treats a silent module as stalled, reopens the port and starts polling again', async () => {
    const h = await setUp((url) => reader({ device: url }));
    const module = new FakeR200(h.device());
    cleanups.push(async () => module.stop());
    await h.start();
    await waitFor(() => module.polling && h.availability.length === 1, 5_000, 'polling');
    const starts = () => module.commands.filter((c) => c === R200_COMMAND.startPolling).length;
    expect(starts()).toBe(1);
    // The module forgets it was polling (a brown-out) and goes quiet.
    module.polling = false;
    await waitFor(() => h.availability.length === 2, 5_000, 'stall');
    expect(h.availability[1]).toMatchObject({ online: false, reason: `no readable data for ${STALL_MS} ms` });
    await waitFor(() => starts() === 2 && h.availability.length === 3, 5_000, 'polling again');
    expect(h.counters()).toMatchObject({ stalls: 1 });
  });

  it('counts set-up commands the module refuses or never answers', async () => {
    const h = await setUp((url) => reader({ device: url, powerDbm: 20 }), { stallMs: 5_000 });
    // This module knows no region command and never answers a power command.
    const device = h.device();
    let buffered = '';
    const timer = setInterval(() => {
      if (device.received.length === buffered.length) return;
      const fresh = device.received.slice(buffered.length);
      buffered = device.received;
      if (fresh.includes(latin1(encodeSetRegion('europe')))) device.write(encodeErrorResponse(0x17)).catch(() => undefined);
    }, POLL_MS);
    cleanups.push(async () => clearInterval(timer));
    await h.start();
    await waitFor(() => device.received.includes(latin1(encodeStartPolling())), 5_000, 'polling asked for');
    expect(h.counters()).toMatchObject({ rejectedCommands: 1, commandTimeouts: 1, moduleErrors: 1 });
    expect(h.adapter.health()['moduleErrors']).toEqual({ '0x17 INVALID_COMMAND': 1 });
  });
});

describe('RfidReaderAdapter with an ASCII reader on a pty', () => {
  it('reads lines with a configured pattern, checks antennas against the configuration and survives a throwing sink', async () => {
    const reads: TagRead[] = [];
    const h = await setUp(
      (url) => ({
        id: 'rfid-exit',
        device: url,
        protocol: 'ascii-line',
        linePattern: String.raw`^TAG:(?<epc>[0-9A-F]+) ANT:(?<antenna>\d+) RSSI:(?<rssi>-?\d+(?:\.\d+)?)$`,
        antennas: [
          { port: 1, role: 'gate-inside', gate: 'gate-exit' },
          { port: 2, role: 'gate-outside', gate: 'gate-exit' },
        ],
      }),
      {
        sink: (read) => {
          if (read.epc === 'E2000000000000000000DEAD') throw new Error('downstream bug');
          reads.push({ ...read });
        },
      },
    );
    await h.start();
    // No bytes needed: a reader that only talks when a tag is near is online once its port is.
    await waitFor(() => h.availability.length === 1, 5_000, 'online');
    expect(h.availability[0]).toMatchObject({ device: 'rfid-exit', kind: 'rfid', online: true });
    await h.device().write(
      [
        'TAG:E28011606000020B6D2D5A1B ANT:1 RSSI:-61.5',
        'TAG:E28011606000020B6D2D5A1B ANT:2 RSSI:-58',
        'TAG:E2000000000000000000DEAD ANT:2 RSSI:-40',
        'TAG:E2003412 ANT:5 RSSI:-70',
        'E2003412,1,-61.5',
        'TAG:3005FB63AC1F3681EC880468 ANT:1 RSSI:-49.25',
      ]
        .map((l) => `${l}\r\n`)
        .join(''),
    );
    await waitFor(() => reads.length === 3, 5_000, 'three reads');
    expect(reads).toEqual([
      { reader: 'rfid-exit', antenna: 1, epc: 'E28011606000020B6D2D5A1B', rssi: -61.5, at: NOW },
      { reader: 'rfid-exit', antenna: 2, epc: 'E28011606000020B6D2D5A1B', rssi: -58, at: NOW },
      { reader: 'rfid-exit', antenna: 1, epc: '3005FB63AC1F3681EC880468', rssi: -49.25, at: NOW },
    ]);
    expect(h.counters()).toMatchObject({ lines: 6, reads: 4, unknownAntenna: 1, malformed: 1, sinkErrors: 1, stalls: 0 });
    // An ASCII reader is only listened to.
    expect(h.device().received).toBe('');
    expect(h.adapter.health()).toMatchObject({ status: 'up', protocol: 'ascii-line' });
  });

  it('reads the default grammar and stays online through silence', async () => {
    const h = await setUp((url) => ({ id: 'rfid-exit', device: url, protocol: 'ascii-line', antennas: [{ port: 1, role: 'gate-inside', gate: 'gate-exit' }] }), { stallMs: 200 });
    await h.start();
    await waitFor(() => h.availability.length === 1, 5_000, 'online');
    await h.device().write(encodeAsciiTagLine({ epc: 'E2003412' }));
    await waitFor(() => h.reads.length === 1, 5_000, 'a read');
    expect(h.reads[0]).toEqual({ reader: 'rfid-exit', antenna: 1, epc: 'E2003412', rssi: Number.NaN, at: NOW });
    await new Promise((r) => setTimeout(r, 600));
    expect(h.availability).toHaveLength(1);
    expect(h.counters()['stalls']).toBe(0);
  });
});
