import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { EventBus } from '../../edge-agent/src/bus.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('EventBus', () => {
  it('delivers typed payloads to every listener in registration order', () => {
    const bus = new EventBus(capturingLogger().log);
    const seen: string[] = [];
    bus.on('agent.stopping', 'a', (p) => void seen.push(`a:${p.reason}`));
    bus.on('agent.stopping', 'b', (p) => void seen.push(`b:${p.reason}`));
    bus.emit('agent.stopping', { reason: 'SIGTERM', at: 1 });
    expect(seen).toEqual(['a:SIGTERM', 'b:SIGTERM']);
  });

  it('contains a throwing listener: the emitter and later listeners carry on, the failure is logged and counted', () => {
    const { log, lines } = capturingLogger();
    const bus = new EventBus(log);
    const seen: number[] = [];
    bus.on('agent.started', 'broken', () => {
      throw new Error('listener bug');
    });
    bus.on('agent.started', 'healthy', (p) => void seen.push(p.runId));
    expect(() => bus.emit('agent.started', { runId: 7, storeId: 's', at: 0 })).not.toThrow();
    expect(seen).toEqual([7]);
    expect(bus.listenerFailures).toBe(1);
    expect(lines.find((l) => l['msg'] === 'bus listener failed; other listeners unaffected')).toMatchObject({
      event: 'agent.started',
      owner: 'broken',
      err: { message: 'listener bug' },
    });
  });

  it('contains a listener whose promise rejects', async () => {
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    bus.on('agent.started', 'async', async () => {
      await Promise.resolve();
      throw new Error('late failure');
    });
    bus.emit('agent.started', { runId: 1, storeId: 's', at: 0 });
    await new Promise((r) => setImmediate(r));
    expect(bus.listenerFailures).toBe(1);
  });

  it('removes exactly one owner\'s listeners', () => {
    const bus = new EventBus(capturingLogger().log);
    const seen: string[] = [];
    bus.on('agent.stopping', 'shelf', () => void seen.push('shelf-1'));
    bus.on('component.health', 'shelf', () => void seen.push('shelf-2'));
    bus.on('agent.stopping', 'screens', () => void seen.push('screens'));
    bus.removeAllOf('shelf');
    bus.emit('agent.stopping', { reason: 'x', at: 0 });
    bus.emit('component.health', { component: 'c', status: 'up', at: 0 });
    expect(seen).toEqual(['screens']);
    expect(bus.listenerCount('component.health')).toBe(0);
  });

  it('returns an unsubscribe function for a single listener', () => {
    const bus = new EventBus(capturingLogger().log);
    let calls = 0;
    const off = bus.on('agent.stopping', 'x', () => void calls++);
    bus.emit('agent.stopping', { reason: 'a', at: 0 });
    off();
    bus.emit('agent.stopping', { reason: 'b', at: 0 });
    expect(calls).toBe(1);
  });
});
