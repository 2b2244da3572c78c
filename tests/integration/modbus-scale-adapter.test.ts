import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ServerSerial, type IServiceVector } from 'modbus-serial';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { VirtualClock } from '../../edge-agent/src/clock.js';
import type { DeviceAvailability } from '../../edge-agent/src/devices/device-availability.js';
import {
  DEFAULT_MODBUS_SETTINGS,
  ModbusScaleAdapter,
  type ModbusBusSettings,
  type ModbusShelf,
} from '../../edge-agent/src/devices/scale/modbus-scale-adapter.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ShelfTick } from '../../edge-agent/src/shelf/shelf-tick.js';
import { PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const NOW = 1_700_000_000_000;
const BAUD = 9600;
const FAST_BACKOFF = { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Load-cell transmitters on a bus: modbus-serial's own RTU slave on a serial port, answering for
 * every unit id from register tables the test sets. A register nobody set is an illegal data
 * address; a unit in `silent` never answers.
 */
class TransmitterBus {
  readonly holding = new Map<string, number>();
  readonly input = new Map<string, number>();
  readonly silent = new Set<number>();
  /** "unit:register" → ms an answer to it takes (a busy transmitter, a slow gateway). */
  readonly slow = new Map<string, number>();
  private constructor(private readonly server: ServerSerial) {}

  static async open(path: string): Promise<TransmitterBus> {
    const vector: IServiceVector = {
      getMultipleHoldingRegisters: (addr: number, length: number, unit: number, cb: (err: unknown, values: number[]) => void) =>
        bus.answer(bus.holding, addr, length, unit, cb),
      getMultipleInputRegisters: (addr: number, length: number, unit: number, cb: (err: unknown, values: number[]) => void) =>
        bus.answer(bus.input, addr, length, unit, cb),
    } as IServiceVector;
    // interval: the silence that ends a request frame; the default 30 ms would make every answer slow.
    const options = { path, baudRate: BAUD, interval: 3 };
    const server = new ServerSerial(vector, options);
    server.on('error', () => undefined);
    server.on('socketError', () => undefined);
    const bus: TransmitterBus = new TransmitterBus(server);
    await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
    return bus;
  }

  /** A signed 32-bit count in two registers, high word first unless `little`. */
  setInt32(unit: number, register: number, value: number, little = false, table = this.holding): void {
    const high = (value >>> 16) & 0xffff;
    const low = value & 0xffff;
    table.set(`${unit}:${register}`, little ? low : high);
    table.set(`${unit}:${register + 1}`, little ? high : low);
  }

  setFloat32(unit: number, register: number, value: number, little = false, table = this.holding): void {
    const b = Buffer.alloc(4);
    b.writeFloatBE(value);
    this.setInt32(unit, register, b.readInt32BE(0), little, table);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(table: Map<string, number>, addr: number, length: number, unit: number, cb: (err: unknown, values: number[]) => void): void {
    if (this.silent.has(unit)) return;
    const delay = this.slow.get(`${unit}:${addr}`);
    if (delay !== undefined) {
      setTimeout(() => this.reply(table, addr, length, unit, cb), delay);
      return;
    }
    this.reply(table, addr, length, unit, cb);
  }

  private reply(table: Map<string, number>, addr: number, length: number, unit: number, cb: (err: unknown, values: number[]) => void): void {
    const values: number[] = [];
    for (let i = 0; i < length; i++) {
      const v = table.get(`${unit}:${addr + i}`);
      if (v === undefined) return cb({ modbusErrorCode: 2 }, []);
      values.push(v);
    }
    cb(null, values);
  }
}

interface TickCopy {
  shelf: string;
  at: number;
  deviceTs: number;
  seq: number;
  raw: number[];
  valid: number[];
}

/** Two shelves on one bus: shelf 1.1 with three plates on units 1 and 2, shelf 1.2 with two plates. */
const TWO_SHELVES: ModbusShelf[] = [
  {
    shelf: '1.1',
    plates: [
      { index: 0, unitId: 1, register: 0 },
      { index: 1, unitId: 1, register: 2 },
      { index: 2, unitId: 2, register: 0 },
    ],
  },
  {
    shelf: '1.2',
    plates: [
      { index: 0, unitId: 3, register: 100 },
      { index: 1, unitId: 9, register: 0 },
    ],
  },
];

function startAdapter(url: string, options: { shelves?: ModbusShelf[]; settings?: Partial<ModbusBusSettings>; silentMs?: number; sink?: (tick: ShelfTick) => void } = {}) {
  const clock = new VirtualClock(NOW);
  const bus = new EventBus(silentLogger());
  const availability: DeviceAvailability[] = [];
  bus.on('device.availability', 'test', (a) => void availability.push(a));
  const ticks: TickCopy[] = [];
  const tickObjects = new Map<string, Set<ShelfTick>>();
  const adapter = new ModbusScaleAdapter({
    device: 'modbus-1.1',
    url,
    shelves: options.shelves ?? TWO_SHELVES,
    settings: { ...DEFAULT_MODBUS_SETTINGS, pollHz: 50, timeoutMs: 60, ...options.settings },
    clock,
    log: silentLogger(),
    bus,
    sink:
      options.sink ??
      ((tick) => {
        let seen = tickObjects.get(tick.shelf);
        if (!seen) tickObjects.set(tick.shelf, (seen = new Set()));
        seen.add(tick);
        ticks.push({ shelf: tick.shelf, at: tick.at, deviceTs: tick.deviceTs, seq: tick.seq, raw: Array.from(tick.raw), valid: Array.from(tick.valid) });
      }),
    backoff: FAST_BACKOFF,
    ...(options.silentMs === undefined ? {} : { silentMs: options.silentMs }),
  });
  cleanups.push(() => adapter.stop());
  const counters = () => adapter.counters();
  const last = (shelf: string) => ticks.findLast((t) => t.shelf === shelf);
  return { adapter, clock, availability, ticks, tickObjects, counters, last };
}

/** A pty pair with the transmitters on the device end. */
async function transmitterBus() {
  const pair = new PtyPair(tempDir());
  await pair.plugIn();
  cleanups.push(() => pair.unplug());
  let slave = await TransmitterBus.open(pair.b);
  cleanups.push(() => slave.close());
  const fill = (s: TransmitterBus) => {
    s.setInt32(1, 0, 8123);
    s.setInt32(1, 2, -1520);
    s.setInt32(2, 0, 241_331);
    s.setInt32(3, 100, 8_388_000);
    s.setInt32(9, 0, 70_000);
  };
  fill(slave);
  return {
    pair,
    slave: () => slave,
    /** Pulls the plug: the slave's port and the pty pair go away. */
    unplug: async () => {
      await slave.close();
      await pair.unplug();
    },
    plugBackIn: async () => {
      await pair.plugIn();
      slave = await TransmitterBus.open(pair.b);
      fill(slave);
    },
  };
}

describe('ModbusScaleAdapter on a pty with a real Modbus RTU slave', () => {
  it('polls two shelves on one bus and delivers one reused tick per shelf per cycle, plates in place', async () => {
    const t = await transmitterBus();
    const h = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`);
    await h.adapter.start();
    await waitFor(() => h.ticks.length >= 10, 5_000, 'ticks');
    expect(h.availability).toEqual([{ device: 'modbus-1.1', kind: 'scale', online: true, at: NOW }]);
    const first = h.ticks[0]!;
    expect(first).toEqual({ shelf: '1.1', at: NOW, deviceTs: 0, seq: 0, raw: [8123, -1520, 241_331], valid: [1, 1, 1] });
    expect(h.ticks[1]).toEqual({ shelf: '1.2', at: NOW, deviceTs: 0, seq: 0, raw: [8_388_000, 70_000], valid: [1, 1] });
    // One tick per shelf per cycle, in shelf order, numbered by cycle.
    const seqs = h.ticks.slice(0, 10).map((tk) => `${tk.shelf}#${tk.seq}`);
    expect(seqs).toEqual(['1.1#0', '1.2#0', '1.1#1', '1.2#1', '1.1#2', '1.2#2', '1.1#3', '1.2#3', '1.1#4', '1.2#4']);
    expect(h.tickObjects.get('1.1')!.size).toBe(1);
    expect(h.tickObjects.get('1.2')!.size).toBe(1);

    // A new reading on the transmitter shows in a later tick; store time comes from the clock.
    t.slave().setInt32(2, 0, -42);
    h.clock.advanceTo(NOW + 5_000);
    await waitFor(() => h.last('1.1')?.raw[2] === -42, 5_000, 'new reading');
    expect(h.last('1.1')).toMatchObject({ at: NOW + 5_000, valid: [1, 1, 1] });

    const c = h.counters();
    expect(c).toMatchObject({ timeouts: 0, exceptions: 0, crcErrors: 0, malformed: 0, reconnects: 0, sinkErrors: 0, internalErrors: 0 });
    expect(c['responses']).toBeGreaterThanOrEqual(c['cycles']! * 5);
    expect(c['requests']! - c['responses']!).toBeLessThanOrEqual(1); // at most the one in flight
    const health = h.adapter.health();
    expect(health).toMatchObject({ status: 'up', state: 'online', exceptions: {} });
    expect(health['detail']).toBeUndefined();
  });

  it('marks a silent unit and an illegal register invalid, counts them, and keeps the other plates coming', async () => {
    const t = await transmitterBus();
    t.slave().silent.add(9);
    t.slave().holding.delete('3:100');
    // 50 Hz with one 60 ms timeout per cycle: every cycle overruns its 20 ms period.
    const h = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`);
    await h.adapter.start();
    await waitFor(() => h.counters()['cycles']! >= 4, 5_000, 'cycles');
    expect(h.last('1.1')).toMatchObject({ raw: [8123, -1520, 241_331], valid: [1, 1, 1] });
    expect(h.last('1.2')!.valid).toEqual([0, 0]);
    const c = h.counters();
    expect(c['timeouts']).toBeGreaterThanOrEqual(4);
    expect(c['exceptions']).toBeGreaterThanOrEqual(4);
    expect(c['overruns']).toBeGreaterThanOrEqual(3);
    expect(c['requests']! - (c['responses']! + c['timeouts']! + c['exceptions']!)).toBeLessThanOrEqual(1);
    const health = h.adapter.health();
    expect(health['status']).toBe('degraded');
    expect(health['detail']).toBe('2 of 5 plates failing: 1.2.1 (exception 2 ILLEGAL_DATA_ADDRESS), 1.2.2 (unit 9 did not answer)');
    expect(health['exceptions']).toEqual({ ILLEGAL_DATA_ADDRESS: c['exceptions'] });
    expect(health['plates']).toContainEqual(expect.objectContaining({ plate: '1.2.2', unitId: 9, ok: false, lastError: 'unit 9 did not answer', lastErrorAt: NOW }));
    expect(health['plates']).toContainEqual(expect.objectContaining({ plate: '1.1.1', ok: true, failures: 0, lastError: null }));
    // One failing transmitter is not a lost bus.
    expect(h.availability.map((a) => a.online)).toEqual([true]);

    t.slave().silent.delete(9);
    t.slave().setInt32(3, 100, 5);
    await waitFor(() => h.last('1.2')?.valid.join() === '1,1', 5_000, 'plates answering again');
    expect(h.last('1.2')!.raw).toEqual([5, 70_000]);
    expect(h.adapter.health()).toMatchObject({ status: 'up' });
  });

  it('goes offline when the bus disappears and reconnects when it comes back', async () => {
    const t = await transmitterBus();
    const h = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`);
    await h.adapter.start();
    await waitFor(() => h.ticks.length >= 4, 5_000, 'ticks');

    await t.unplug();
    await waitFor(() => h.availability.length === 2, 5_000, 'offline');
    expect(h.availability[1]).toMatchObject({ device: 'modbus-1.1', kind: 'scale', online: false });
    expect(h.availability[1]!.reason).toMatch(/connection lost/);
    await waitFor(() => h.counters()['openFailures']! >= 2, 5_000, 'retries while unplugged');
    expect(h.adapter.health()).toMatchObject({ status: 'degraded', state: expect.stringMatching(/offline|connecting/) });
    expect(h.adapter.health()['detail']).toMatch(/^(offline|connecting): /);
    const ticksWhileUnplugged = h.ticks.length;

    await t.plugBackIn();
    await waitFor(() => h.availability.length === 3, 5_000, 'online again');
    expect(h.availability[2]).toMatchObject({ online: true });
    await waitFor(() => h.ticks.length >= ticksWhileUnplugged + 4, 5_000, 'ticks after replug');
    expect(h.counters()['reconnects']).toBeGreaterThanOrEqual(1);
    expect(h.last('1.1')).toMatchObject({ raw: [8123, -1520, 241_331], valid: [1, 1, 1] });
    const seqs = h.ticks.filter((tk) => tk.shelf === '1.1').map((tk) => tk.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(h.adapter.health()['status']).toBe('up');
  });

  it('reopens a bus on which nothing answers, and goes online once something does', async () => {
    const t = await transmitterBus();
    for (const unit of [1, 2, 3, 9]) t.slave().silent.add(unit);
    const h = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`, { silentMs: 500 });
    await h.adapter.start();
    await waitFor(() => h.availability.length === 1, 5_000, 'silence');
    expect(h.availability[0]).toMatchObject({ online: false, reason: 'no answer on the bus for 500 ms' });
    await waitFor(() => h.counters()['reconnects']! >= 1, 5_000, 'reopened');
    expect(h.counters()['silences']).toBeGreaterThanOrEqual(1);
    // Cycles still complete while every plate is invalid: the sink sees the shelf is unreadable.
    expect(h.last('1.1')?.valid).toEqual([0, 0, 0]);

    t.slave().silent.clear();
    await waitFor(() => h.availability.length === 2, 5_000, 'online');
    expect(h.availability[1]).toMatchObject({ online: true });
    await waitFor(() => h.last('1.2')?.valid.join() === '1,1', 5_000, 'readings');
  });

  it('never takes a late answer for the next plate of the same transmitter', async () => {
    const t = await transmitterBus();
    // Plate 1.1.1 (unit 1, register 0) answers 40 ms after the adapter gave up at 60 ms; the next
    // request goes to unit 1 too (plate 1.1.2, register 2), and an RTU answer names no register.
    t.slave().slow.set('1:0', 100);
    const h = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`);
    await h.adapter.start();
    await waitFor(() => h.counters()['cycles']! >= 15, 10_000, 'cycles');
    const shelf = h.ticks.filter((x) => x.shelf === '1.1');
    expect(shelf.every((x) => x.valid[0] === 0)).toBe(true);
    // Every reading of plate 1.1.2 is its own, never plate 1.1.1's 8123.
    expect(shelf.filter((x) => x.valid[1] === 1).map((x) => x.raw[1])).toEqual(shelf.filter((x) => x.valid[1] === 1).map(() => -1520));
    expect(shelf.filter((x) => x.valid[1] === 1).length).toBeGreaterThanOrEqual(10);
  });

  it('counts a garbled answer as a CRC error and marks only that plate invalid', async () => {
    // Line noise between the agent and the transmitters: a forwarder that flips the last byte
    // (the CRC) of unit 2's answers while `garble` is on.
    const agentSide = new PtyPair(tempDir());
    await agentSide.plugIn();
    cleanups.push(() => agentSide.unplug());
    const t = await transmitterBus();
    const open = (path: string) =>
      new Promise<SerialPort>((resolve, reject) => {
        const p = new SerialPort({ path, baudRate: BAUD, autoOpen: false });
        p.on('error', () => undefined);
        p.open((err) => (err ? reject(err) : resolve(p)));
      });
    const toAgent = await open(agentSide.b);
    const toBus = await open(t.pair.a);
    cleanups.push(() => Promise.all([toAgent, toBus].map((p) => new Promise((r) => (p.isOpen ? p.close(r) : r(undefined))))));
    let garble = true;
    toAgent.on('data', (d: Buffer) => toBus.write(d));
    toBus.on('data', (d: Buffer) => {
      const copy = Buffer.from(d);
      if (garble && copy[0] === 2) copy[copy.length - 1]! ^= 0xff;
      toAgent.write(copy);
    });

    const h = startAdapter(`serial://${agentSide.a}?baudRate=${BAUD}`);
    await h.adapter.start();
    await waitFor(() => h.counters()['crcErrors']! >= 3, 5_000, 'CRC errors');
    expect(h.last('1.1')!.valid).toEqual([1, 1, 0]);
    expect(h.last('1.1')!.raw.slice(0, 2)).toEqual([8123, -1520]);
    expect(h.last('1.2')).toMatchObject({ valid: [1, 1] });
    expect(h.adapter.health()['detail']).toBe('1 of 5 plates failing: 1.1.3 (CRC error)');
    expect(h.availability.map((a) => a.online)).toEqual([true]);

    garble = false;
    await waitFor(() => h.last('1.1')?.valid[2] === 1, 5_000, 'clean answers');
    expect(h.last('1.1')!.raw[2]).toBe(241_331);
  });

  it('reaches the bus through an RTU-over-TCP gateway, reading float32 input registers in little word order', async () => {
    // A serial device server in transparent mode: socat bridges a TCP port to the slave's pty.
    const dir = tempDir();
    const devicePath = join(dir, 'gateway-rs485');
    const port = await freePort();
    const gateway: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${devicePath}`, `tcp-listen:${port},bind=127.0.0.1,reuseaddr`], { stdio: 'ignore' });
    cleanups.push(async () => {
      if (gateway.exitCode !== null || gateway.signalCode !== null) return;
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await exited;
    });
    await waitFor(() => existsSync(devicePath), 5_000, 'gateway pty');
    const slave = await TransmitterBus.open(devicePath);
    cleanups.push(() => slave.close());
    slave.setFloat32(4, 30, 12_004.4, true, slave.input);
    slave.setFloat32(4, 32, -3.6, true, slave.input);
    slave.setInt32(4, 30, 1, false, slave.holding); // holding registers must not be what is read

    const h = startAdapter(`tcp://127.0.0.1:${port}`, {
      shelves: [{ shelf: '2.4', plates: [{ index: 0, unitId: 4, register: 30 }, { index: 1, unitId: 4, register: 32 }] }],
      settings: { registers: 'input', format: 'float32', wordOrder: 'little', timeoutMs: 200 },
    });
    await h.adapter.start();
    await waitFor(() => h.ticks.length >= 3, 5_000, 'ticks over TCP');
    expect(h.last('2.4')).toMatchObject({ raw: [12_004, -4], valid: [1, 1] });
    expect(h.availability).toEqual([{ device: 'modbus-1.1', kind: 'scale', online: true, at: NOW }]);
  });

  it('stays offline with a clear reason for a URL no Modbus bus can use, and stops cleanly', async () => {
    const h = startAdapter('sim://shelf-1.1');
    await h.adapter.start();
    await waitFor(() => h.availability.length === 1, 2_000, 'offline');
    expect(h.availability[0]!.reason).toMatch(/^sim:\/\/shelf-1\.1: a Modbus RTU bus is serial:\/\/… or tcp:\/\//);
    expect(h.adapter.health()).toMatchObject({ status: 'degraded', state: 'offline' });
    expect(h.counters()['openFailures']).toBe(0);
    await h.adapter.stop();
  });

  it('starts at once without a device, retries in the background, and leaves no timers when stopped', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const h = startAdapter(`serial://${join(tempDir(), 'no-such-port')}`);
    const t0 = performance.now();
    await h.adapter.start();
    expect(performance.now() - t0).toBeLessThan(50);
    await waitFor(() => h.counters()['openFailures']! >= 2, 5_000, 'retries');
    expect(h.availability).toHaveLength(1);
    expect(h.availability[0]).toMatchObject({ online: false });
    expect(h.availability[0]!.reason).toMatch(/cannot open/);
    await h.adapter.stop();
    expect(timers()).toBeLessThanOrEqual(before);

    // The same while polling a live bus, with a request in flight to a silent unit.
    const t = await transmitterBus();
    t.slave().silent.add(9);
    const live = startAdapter(`serial://${t.pair.a}?baudRate=${BAUD}`);
    const beforeLive = timers();
    await live.adapter.start();
    await waitFor(() => live.counters()['timeouts']! >= 2, 5_000, 'polling');
    await t.unplug();
    await live.adapter.stop();
    expect(timers()).toBeLessThanOrEqual(beforeLive);
    expect(live.adapter.health()).toMatchObject({ state: 'offline' });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
