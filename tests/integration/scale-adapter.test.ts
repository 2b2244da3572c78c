import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { VirtualClock } from '../../edge-agent/src/clock.js';
import type { DeviceAvailability } from '../../edge-agent/src/devices/device-availability.js';
import { ScaleAdapter } from '../../edge-agent/src/devices/scale/scale-adapter.js';
import { encodeIdentityLine, encodeSampleLine, encodeStatusLine } from '../../edge-agent/src/devices/scale/scale-line-protocol.js';
import { createTransport } from '../../edge-agent/src/devices/serial/transport-factory.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ShelfTick } from '../../edge-agent/src/shelf/shelf-tick.js';
import { DeviceEnd, PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const NOW = 1_700_000_000_000;
const STALL_MS = 400;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface TickCopy {
  shelf: string;
  at: number;
  deviceTs: number;
  seq: number;
  raw: number[];
  valid: number[];
}

async function setUp(options: { sink?: (tick: ShelfTick) => void } = {}) {
  const pair = new PtyPair(tempDir());
  await pair.plugIn();
  cleanups.push(() => pair.unplug());
  const clock = new VirtualClock(NOW);
  const bus = new EventBus(silentLogger());
  const availability: DeviceAvailability[] = [];
  bus.on('device.availability', 'test', (a) => void availability.push(a));
  const ticks: TickCopy[] = [];
  const tickObjects = new Set<ShelfTick>();
  const adapter = new ScaleAdapter({
    device: 'shelf-1.2',
    shelf: '1.2',
    url: `serial://${pair.a}`,
    plateCount: 4,
    transport: (url) => createTransport(url, { clock }),
    clock,
    log: silentLogger(),
    bus,
    sink:
      options.sink ??
      ((tick) => {
        tickObjects.add(tick);
        ticks.push({ shelf: tick.shelf, at: tick.at, deviceTs: tick.deviceTs, seq: tick.seq, raw: Array.from(tick.raw), valid: Array.from(tick.valid) });
      }),
    stallMs: STALL_MS,
    backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
  });
  await adapter.start();
  cleanups.push(() => adapter.stop());
  let device = await DeviceEnd.open(pair.b);
  cleanups.push(() => device.close());

  // A controller streaming at ~50 Hz while `feeding`, as long as its end is plugged in.
  const stream = { feeding: false, seq: 0 };
  const feeder = setInterval(() => {
    if (!stream.feeding) return;
    const seq = stream.seq++;
    device.write(encodeSampleLine({ deviceTs: seq * 20, seq, raw: [seq, -seq, 1000 + seq, 7] })).catch(() => undefined);
  }, 20);
  cleanups.push(async () => clearInterval(feeder));

  return {
    pair,
    bus,
    clock,
    adapter,
    availability,
    ticks,
    tickObjects,
    stream,
    device: () => device,
    replaceDevice: async () => {
      device = await DeviceEnd.open(pair.b);
    },
    counters: () => adapter.health()['counters'] as Record<string, number>,
  };
}

describe('ScaleAdapter on a pty', () => {
  it('turns encoded sample lines into ShelfTicks, marking bad plates invalid and counting everything', async () => {
    const h = await setUp();
    const device = h.device();
    await device.write(encodeStatusLine({ deviceTs: 5, code: 1, plate: 0, text: 'POWER_ON' }));
    await device.write(encodeIdentityLine({ firmware: '1.4.2', serial: 'SC-77', plateCount: 4, sampleRateHz: 60 }));
    await waitFor(() => h.availability.length === 1, 5_000, 'online');
    expect(h.availability).toEqual([{ device: 'shelf-1.2', kind: 'scale', online: true, at: NOW }]);
    // On every connect the adapter asks the controller who it is.
    await waitFor(() => device.received.includes('$C,ID*3D33\r\n'), 5_000, 'identity request');

    const lines = [
      encodeSampleLine({ deviceTs: 1000, seq: 10, raw: [100, -200, 300, 400] }),
      encodeSampleLine({ deviceTs: 1017, seq: 11, raw: [101, 0, 8_388_607, -8_388_608], plateError: [0, 1, 0, 0] }),
      Buffer.from('garbage\r\n$S,1,2,3*FFFF\r\n'),
      encodeSampleLine({ deviceTs: 1034, seq: 12, raw: [9_000_000, -8_388_607, 8_388_606, -9_000_000] }),
      encodeSampleLine({ deviceTs: 1085, seq: 15, raw: [1, 2, 3, 4, 5, 6] }),
      encodeSampleLine({ deviceTs: 1102, seq: 16, raw: [7, 8] }),
    ];
    await device.write(Buffer.concat(lines));
    await waitFor(() => h.ticks.length === 5, 5_000, 'five ticks');
    expect(h.ticks).toEqual([
      { shelf: '1.2', at: NOW, deviceTs: 1000, seq: 10, raw: [100, -200, 300, 400], valid: [1, 1, 1, 1] },
      { shelf: '1.2', at: NOW, deviceTs: 1017, seq: 11, raw: [101, 0, 8_388_607, -8_388_608], valid: [1, 0, 0, 0] },
      { shelf: '1.2', at: NOW, deviceTs: 1034, seq: 12, raw: [9_000_000, -8_388_607, 8_388_606, -9_000_000], valid: [0, 1, 1, 0] },
      { shelf: '1.2', at: NOW, deviceTs: 1085, seq: 15, raw: [1, 2, 3, 4], valid: [1, 1, 1, 1] },
      // Plates 3 and 4 were not sent: invalid, whatever the tick held before.
      { shelf: '1.2', at: NOW, deviceTs: 1102, seq: 16, raw: [7, 8, 3, 4], valid: [1, 1, 0, 0] },
    ]);
    expect(h.tickObjects.size).toBe(1);
    const health = h.adapter.health();
    expect(health).toMatchObject({
      status: 'up',
      state: 'online',
      identity: { firmware: '1.4.2', serial: 'SC-77', plateCount: 4, sampleRateHz: 60 },
      lastNotice: { code: 1, name: 'BOOT', text: 'POWER_ON' },
    });
    expect(health['counters']).toMatchObject({
      samples: 5,
      statusLines: 1,
      plateErrors: 1,
      saturated: 2,
      outOfRange: 2,
      droppedTicks: 2,
      unknownPlates: 2,
      missingPlates: 2,
      checksumErrors: 1,
      malformed: 1,
      sinkErrors: 0,
      reconnects: 0,
    });
    expect(h.counters()['bytes']).toBeGreaterThan(200);
  });

  it('announces a press of the shelf button, and counts it as a status line', async () => {
    const h = await setUp();
    const presses: unknown[] = [];
    h.bus.on('shelf.button', 'test', (b) => void presses.push(b));
    await h.device().write(Buffer.concat([encodeStatusLine({ deviceTs: 9, code: 4, plate: 0, text: 'RESTOCK' }), encodeStatusLine({ deviceTs: 10, code: 4, plate: 0 })]));
    await waitFor(() => presses.length === 2, 5_000, 'two presses');
    expect(presses).toEqual([
      { shelf: '1.2', button: 'RESTOCK', at: NOW },
      { shelf: '1.2', button: 'RESTOCK', at: NOW },
    ]);
    expect(h.counters()['statusLines']).toBe(2);
  });

  it('goes offline when unplugged, then reconnects and resumes when plugged back in', async () => {
    const h = await setUp();
    h.stream.feeding = true;
    await waitFor(() => h.ticks.length >= 5, 5_000, 'ticks');
    expect(h.availability.map((a) => a.online)).toEqual([true]);

    h.stream.feeding = false;
    await h.device().close();
    await h.pair.unplug();
    await waitFor(() => h.availability.length === 2, 5_000, 'offline event');
    expect(h.availability[1]).toMatchObject({ device: 'shelf-1.2', kind: 'scale', online: false });
    expect(h.availability[1]!.reason).toMatch(/connection lost|disappeared/);
    const down = h.adapter.health();
    expect(down.status).toBe('degraded');
    expect(down.detail).toMatch(/^(offline|connecting): /);
    await waitFor(() => h.counters()['openFailures']! >= 2, 5_000, 'retries while unplugged');
    const ticksWhileUnplugged = h.ticks.length;

    await h.pair.plugIn();
    await h.replaceDevice();
    h.stream.feeding = true;
    await waitFor(() => h.availability.length === 3, 5_000, 'online again');
    expect(h.availability[2]).toMatchObject({ online: true });
    await waitFor(() => h.ticks.length >= ticksWhileUnplugged + 5, 5_000, 'ticks after replug');
    expect(h.counters()['reconnects']).toBeGreaterThanOrEqual(1);
    expect(h.adapter.health().status).toBe('up');
    await waitFor(() => h.device().received.includes('$C,ID*3D33'), 5_000, 'identity asked again');
    const seqs = h.ticks.slice(ticksWhileUnplugged).map((t) => t.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(h.ticks.at(-1)!.raw).toEqual([h.ticks.at(-1)!.seq, -h.ticks.at(-1)!.seq, 1000 + h.ticks.at(-1)!.seq, 7]);
  });

  it('detects a stalled stream, reopens the port and resumes when bytes flow again', async () => {
    const h = await setUp();
    h.stream.feeding = true;
    await waitFor(() => h.ticks.length >= 3, 5_000, 'ticks');
    h.stream.feeding = false;
    const t0 = performance.now();
    await waitFor(() => h.availability.length === 2, 5_000, 'stall');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(STALL_MS - 50);
    expect(h.availability[1]).toMatchObject({ online: false, reason: `no readable data for ${STALL_MS} ms` });
    expect(h.counters()['stalls']).toBeGreaterThanOrEqual(1);
    const before = h.ticks.length;
    h.stream.feeding = true;
    await waitFor(() => h.availability.length === 3 && h.ticks.length >= before + 3, 5_000, 'resumed');
    expect(h.availability[2]).toMatchObject({ online: true });
    expect(h.counters()['reconnects']).toBeGreaterThanOrEqual(1);
  });

  it('does not take noise for a controller: garbage alone never brings it online, and stalls it', async () => {
    const h = await setUp();
    // A wrong baud rate or a damaged line: bytes, but not one readable line.
    const noise = setInterval(() => void h.device().write(Buffer.from('\x00\xff#~\x1b?\xfe\r\n')).catch(() => undefined), 20);
    cleanups.push(async () => clearInterval(noise));
    await waitFor(() => h.counters()['stalls']! >= 1, 5_000, 'a stall on noise');
    expect(h.adapter.health()['status']).not.toBe('up');
    expect(h.availability.every((a) => !a.online)).toBe(true);
    expect(h.availability.at(-1)).toMatchObject({ online: false, reason: `no readable data for ${STALL_MS} ms` });
    clearInterval(noise);
    h.stream.feeding = true;
    await waitFor(() => h.availability.at(-1)?.online === true && h.ticks.length >= 3, 5_000, 'readable lines');
  });

  it('carries on past a throwing sink: every line still reaches it, the good ticks are right', async () => {
    const delivered: { seq: number; raw: number[] }[] = [];
    let calls = 0;
    const h = await setUp({
      sink: (tick) => {
        calls += 1;
        if (tick.seq % 2 === 0) throw new Error('downstream bug');
        delivered.push({ seq: tick.seq, raw: Array.from(tick.raw) });
      },
    });
    const lines = Array.from({ length: 10 }, (_, seq) => encodeSampleLine({ deviceTs: seq, seq, raw: [seq, seq * 2, seq * 3, seq * 4] }));
    // One chunk: a throw on the first line must not lose the nine after it.
    await h.device().write(Buffer.concat(lines));
    await waitFor(() => calls === 10, 5_000, 'all lines');
    expect(delivered).toEqual([1, 3, 5, 7, 9].map((seq) => ({ seq, raw: [seq, seq * 2, seq * 3, seq * 4] })));
    expect(h.counters()).toMatchObject({ samples: 10, sinkErrors: 5, internalErrors: 0 });
    expect(h.adapter.health().status).toBe('up');
  });
});
