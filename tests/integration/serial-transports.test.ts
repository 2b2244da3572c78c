import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveClock, VirtualClock } from '../../edge-agent/src/clock.js';
import type { ByteTransport } from '../../edge-agent/src/devices/serial/byte-transport.js';
import { DeviceLink } from '../../edge-agent/src/devices/serial/device-link.js';
import { ReplayTransport } from '../../edge-agent/src/devices/serial/replay-transport.js';
import { SerialPortTransport } from '../../edge-agent/src/devices/serial/serialport-transport.js';
import { TcpTransport } from '../../edge-agent/src/devices/serial/tcp-transport.js';
import { createTransport } from '../../edge-agent/src/devices/serial/transport-factory.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { CaptureWriter } from '../../edge-agent/src/recording/capture-file.js';
import { ReplayScheduler } from '../../edge-agent/src/recording/replay-scheduler.js';
import { DeviceEnd, PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const FAST = { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Everything a transport reports, as plain values. */
function record(transport: ByteTransport) {
  const seen = { data: '', stamps: [] as number[], closes: [] as (Error | undefined)[] };
  transport.onData((chunk, at) => {
    seen.data += chunk.toString('latin1');
    seen.stamps.push(at);
  });
  transport.onClose((reason) => seen.closes.push(reason));
  return seen;
}

async function ptyPair(): Promise<PtyPair> {
  const pair = new PtyPair(tempDir());
  await pair.plugIn();
  cleanups.push(() => pair.unplug());
  return pair;
}

async function tcpServer(onSocket: (socket: Socket) => void = () => undefined): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

describe('SerialPortTransport over a socat pty pair', () => {
  it('reads what the device end writes, stamped with the store clock, and writes back', async () => {
    const pair = await ptyPair();
    const clock = new VirtualClock(1_700_000_000_000);
    const transport = new SerialPortTransport(`serial://${pair.a}`, pair.a, 115_200, clock);
    const seen = record(transport);
    await transport.open();
    cleanups.push(() => transport.close());
    const device = await DeviceEnd.open(pair.b);
    cleanups.push(() => device.close());
    await device.write('$S,1,2,3*0000\r\n');
    await waitFor(() => seen.data.length >= 15);
    expect(seen.data).toBe('$S,1,2,3*0000\r\n');
    expect(new Set(seen.stamps)).toEqual(new Set([1_700_000_000_000]));
    await transport.write(Buffer.from('$C,ID*3D33\r\n'));
    await waitFor(() => device.received.length >= 12);
    expect(device.received).toBe('$C,ID*3D33\r\n');
    await transport.close();
    expect(seen.closes).toEqual([]);
  });

  it('rejects with the path when the port cannot be opened', async () => {
    const path = join(tempDir(), 'ttyUSB-absent');
    const transport = new SerialPortTransport(`serial://${path}`, path, 115_200, new LiveClock());
    await expect(transport.open()).rejects.toThrow(`serial://${path}: cannot open ${path}`);
  });

  it('reports an unplugged port once, and can be opened again after a replug', async () => {
    const pair = await ptyPair();
    const transport = new SerialPortTransport(`serial://${pair.a}`, pair.a, 115_200, new LiveClock());
    const seen = record(transport);
    await transport.open();
    cleanups.push(() => transport.close());
    await pair.unplug();
    await waitFor(() => seen.closes.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.closes).toHaveLength(1);
    expect(seen.closes[0]?.message).toMatch(/connection lost/);
    await expect(transport.write(Buffer.from('x'))).rejects.toThrow(/not open/);

    await pair.plugIn();
    await transport.open();
    const device = await DeviceEnd.open(pair.b);
    cleanups.push(() => device.close());
    await device.write('again\n');
    await waitFor(() => seen.data === 'again\n');
  });
});

describe('TcpTransport (ser2net)', () => {
  it('exchanges bytes with a TCP server and reports the peer closing once', async () => {
    const got: Buffer[] = [];
    const { port, sockets } = await tcpServer((s) => {
      s.on('data', (d) => got.push(d));
      s.write('hello from ser2net\n');
    });
    const clock = new VirtualClock(42);
    const transport = new TcpTransport(`tcp://127.0.0.1:${port}`, '127.0.0.1', port, clock);
    const seen = record(transport);
    await transport.open();
    cleanups.push(() => transport.close());
    await waitFor(() => seen.data === 'hello from ser2net\n');
    expect(seen.stamps.every((t) => t === 42)).toBe(true);
    await transport.write(Buffer.from('$C,PING*C998\r\n'));
    await waitFor(() => Buffer.concat(got).toString() === '$C,PING*C998\r\n');
    expect(sockets[0]!.remoteAddress).toBe('127.0.0.1');
    sockets[0]!.end();
    await waitFor(() => seen.closes.length > 0);
    expect(seen.closes).toHaveLength(1);
    expect(seen.closes[0]?.message).toMatch(/connection lost/);
  });

  it('never reports its own close', async () => {
    const { port } = await tcpServer();
    const transport = new TcpTransport(`tcp://127.0.0.1:${port}`, '127.0.0.1', port, new LiveClock());
    const seen = record(transport);
    await transport.open();
    await transport.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.closes).toEqual([]);
  });

  it('rejects clearly when nothing listens', async () => {
    const { server, port } = await tcpServer();
    await new Promise((r) => server.close(r));
    const transport = new TcpTransport(`tcp://127.0.0.1:${port}`, '127.0.0.1', port, new LiveClock());
    await expect(transport.open()).rejects.toThrow(new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });
});

describe('createTransport', () => {
  it('picks the transport from the URL and resolves sim:// names through the simulator', async () => {
    const clock = new LiveClock();
    expect(createTransport('serial:///dev/ttyUSB0?baudRate=9600', { clock })).toBeInstanceOf(SerialPortTransport);
    expect(createTransport('tcp://10.0.0.5:4001', { clock })).toBeInstanceOf(TcpTransport);
    expect(createTransport('replay://rec/shelf-1.1.cap', { clock })).toBeInstanceOf(ReplayTransport);
    const pair = await ptyPair();
    const sim = createTransport('sim://shelf-1.1', { clock, resolveSim: (name) => (name === 'shelf-1.1' ? `serial://${pair.a}` : undefined) });
    expect(sim).toBeInstanceOf(SerialPortTransport);
    const seen = record(sim);
    await sim.open();
    cleanups.push(() => sim.close());
    const device = await DeviceEnd.open(pair.b);
    cleanups.push(() => device.close());
    await device.write('via sim\n');
    await waitFor(() => seen.data === 'via sim\n');
  });

  it('names the URL when it cannot be used', () => {
    const clock = new LiveClock();
    expect(() => createTransport('sim://shelf-9.9', { clock })).toThrow('sim://shelf-9.9: no simulated device named "shelf-9.9" is running');
    expect(() => createTransport('sim://a', { clock, resolveSim: () => 'sim://b' })).toThrow(/sim:\/\/a: .*another sim:\/\//);
    expect(() => createTransport('usb://thing', { clock })).toThrow(/usb:\/\/thing: unknown scheme/);
  });
});

describe('ReplayTransport under a ReplayScheduler', () => {
  it('delivers a recorded capture in order, at recording time, then ends', async () => {
    const file = join(tempDir(), 'shelf.cap');
    const startedAt = 1_700_000_000_000;
    const writer = new CaptureWriter(file, { device: 'shelf-1.1', kind: 'scale', startedAt, createdBy: 'test' });
    const records = Array.from({ length: 50 }, (_, i) => ({ at: startedAt + i * 16.7, data: Buffer.from(`line ${i}\n`) }));
    for (const r of records) writer.append(r.at, r.data);
    writer.close();

    const clock = new VirtualClock(startedAt);
    const scheduler = new ReplayScheduler(clock);
    const transport = createTransport(`replay://${file}`, { clock, replay: scheduler });
    expect(transport.finite).toBe(true);
    const got: { at: number; clockAt: number; text: string }[] = [];
    transport.onData((chunk, at) => got.push({ at, clockAt: clock.now(), text: chunk.toString() }));
    let ended = 0;
    transport.onClose(() => (ended += 1));
    await transport.open();
    const progress = await scheduler.run();
    expect(progress.delivered).toBe(50);
    expect(got.map((g) => g.text)).toEqual(records.map((r) => r.data.toString()));
    for (const [i, g] of got.entries()) {
      expect(g.at).toBeCloseTo(records[i]!.at, 6);
      expect(g.clockAt).toBe(g.at);
    }
    expect(ended).toBe(1);
    await transport.close();
  });
});

describe('DeviceLink', () => {
  it('returns from start() at once when the device is absent, keeps retrying, and stops cleanly', async () => {
    const path = join(tempDir(), 'ttyACM-absent');
    const url = `serial://${path}`;
    const availability: [boolean, string | undefined][] = [];
    const link = new DeviceLink({
      url,
      transport: (u) => createTransport(u, { clock: new LiveClock() }),
      log: silentLogger(),
      onData: () => undefined,
      onAvailability: (online, reason) => availability.push([online, reason]),
      backoff: FAST,
    });
    const t0 = performance.now();
    link.start();
    expect(performance.now() - t0).toBeLessThan(50);
    await waitFor(() => link.counters.openFailures >= 3);
    // Reported once, not at every retry.
    expect(availability).toHaveLength(1);
    expect(availability[0]![0]).toBe(false);
    expect(availability[0]![1]).toContain(path);
    expect(link.state).not.toBe('online');
    await link.stop();
    const failures = link.counters.openFailures;
    await new Promise((r) => setTimeout(r, 300));
    expect(link.counters.openFailures).toBe(failures);
    expect(link.state).toBe('offline');
  });

  it('comes online when a streaming device sends, and reconnects after a stall', async () => {
    let connections = 0;
    let talk = true;
    const { port, sockets } = await tcpServer(() => (connections += 1));
    const feeder = setInterval(() => {
      if (talk) for (const s of sockets) if (!s.destroyed) s.write('tick\n');
    }, 20);
    cleanups.push(async () => clearInterval(feeder));
    const availability: boolean[] = [];
    let bytes = 0;
    const link = new DeviceLink({
      url: `tcp://127.0.0.1:${port}`,
      transport: (u) => createTransport(u, { clock: new LiveClock() }),
      log: silentLogger(),
      onData: (chunk) => (bytes += chunk.length),
      onAvailability: (online) => availability.push(online),
      stallMs: 200,
      backoff: FAST,
    });
    link.start();
    cleanups.push(() => link.stop());
    await waitFor(() => link.state === 'online');
    expect(bytes).toBeGreaterThan(0);
    talk = false;
    await waitFor(() => availability.length >= 2, 3_000, 'a stall');
    expect(link.counters.stalls).toBeGreaterThanOrEqual(1);
    expect(availability).toEqual([true, false]);
    expect(link.reason).toBe('no data for 200 ms');
    talk = true;
    await waitFor(() => link.state === 'online', 3_000, 'back online');
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(link.counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(availability).toEqual([true, false, true]);
    await expect(link.write(Buffer.from('x'))).resolves.toBeUndefined();
  });

  it('backs off from a port that accepts and drops at once (a busy ser2net port), and starts over after a steady connection', async () => {
    let connections = 0;
    let refuse = true;
    const { port } = await tcpServer((s) => {
      connections += 1;
      // ser2net's answer when another client holds the port, then it hangs up.
      if (refuse) s.end('Port already in use\r\n');
    });
    const link = new DeviceLink({
      url: `tcp://127.0.0.1:${port}`,
      transport: (u) => createTransport(u, { clock: new LiveClock() }),
      log: silentLogger(),
      onData: () => undefined,
      stallMs: 0,
      backoff: { initialMs: 50, maxMs: 5_000, factor: 2, jitter: 0 },
    });
    link.start();
    cleanups.push(() => link.stop());
    await new Promise((r) => setTimeout(r, 2_000));
    // 50, 100, 200, 400, 800 ms between attempts: 5 or 6 in 2 s (every 50 ms without back-off: 40).
    expect(connections).toBeGreaterThanOrEqual(4);
    expect(connections).toBeLessThanOrEqual(7);
    refuse = false;
    await waitFor(() => link.state === 'online', 5_000, 'a connection that stays');
  });

  it('contains a throwing data listener', async () => {
    const { port } = await tcpServer((s) => s.write('a\nb\nc\n'));
    let calls = 0;
    const link = new DeviceLink({
      url: `tcp://127.0.0.1:${port}`,
      transport: (u) => createTransport(u, { clock: new LiveClock() }),
      log: silentLogger(),
      onData: () => {
        calls += 1;
        throw new Error('consumer bug');
      },
      stallMs: 0,
    });
    link.start();
    cleanups.push(() => link.stop());
    await waitFor(() => link.counters.listenerErrors >= 1);
    expect(link.counters.listenerErrors).toBe(calls);
    expect(link.state).toBe('online');
  });

  it('plays a recording at real-time pace from its first record, and ends an empty one', async () => {
    const file = join(tempDir(), 'gate.cap');
    const writer = new CaptureWriter(file, { device: 'entry', kind: 'gate', startedAt: 1000, createdBy: 'test' });
    for (let i = 0; i < 5; i++) writer.append(1000 + i * 20, Buffer.from(`PASS ${i}\n`));
    writer.close();
    const empty = join(tempDir(), 'empty.cap');
    new CaptureWriter(empty, { device: 'exit', kind: 'gate', startedAt: 1000, createdBy: 'test' }).close();
    const play = (url: string, scheduler?: ReplayScheduler) => {
      const seen = { text: '', availability: [] as [boolean, string | undefined][] };
      const link = new DeviceLink({
        url,
        transport: (u) => createTransport(u, { clock: new LiveClock(), ...(scheduler ? { replay: scheduler } : {}) }),
        log: silentLogger(),
        onData: (chunk) => (seen.text += chunk.toString()),
        onAvailability: (online, reason) => seen.availability.push([online, reason]),
        backoff: FAST,
      });
      link.start();
      cleanups.push(() => link.stop());
      return seen;
    };
    const paced = play(`replay://${file}`);
    await waitFor(() => paced.availability.length === 2, 3_000, 'the recording to end');
    expect(paced.text).toBe('PASS 0\nPASS 1\nPASS 2\nPASS 3\nPASS 4\n');
    expect(paced.availability).toEqual([[true, undefined], [false, 'recording ended']]);
    for (const scheduler of [undefined, new ReplayScheduler(new VirtualClock(1000))]) {
      const nothing = play(`replay://${empty}`, scheduler);
      await waitFor(() => nothing.availability.length === 2, 3_000, 'an empty recording to end');
      expect(nothing.availability).toEqual([[true, undefined], [false, 'recording ended']]);
    }
  });

  it('does not reopen a recording that has ended', async () => {
    const file = join(tempDir(), 'gate.cap');
    const writer = new CaptureWriter(file, { device: 'entry', kind: 'gate', startedAt: 1000, createdBy: 'test' });
    writer.append(1000, Buffer.from('PASS IN\n'));
    writer.append(1010, Buffer.from('PASS OUT\n'));
    writer.close();
    const clock = new VirtualClock(1000);
    const scheduler = new ReplayScheduler(clock);
    const availability: [boolean, string | undefined][] = [];
    let text = '';
    const link = new DeviceLink({
      url: `replay://${file}`,
      transport: (u) => createTransport(u, { clock, replay: scheduler }),
      log: silentLogger(),
      onData: (chunk) => (text += chunk.toString()),
      onAvailability: (online, reason) => availability.push([online, reason]),
      backoff: FAST,
    });
    link.start();
    await waitFor(() => link.state === 'online');
    await scheduler.run();
    await waitFor(() => link.state === 'offline');
    await new Promise((r) => setTimeout(r, 200));
    expect(text).toBe('PASS IN\nPASS OUT\n');
    expect(link.counters).toMatchObject({ opens: 1, reconnects: 0 });
    expect(availability).toEqual([
      [true, undefined],
      [false, 'recording ended'],
    ]);
    await link.stop();
    expect(availability).toHaveLength(2);
  });
});
