import { describe, expect, it } from 'vitest';
import { isEdgeError, ErrorCode } from '../../edge-agent/src/errors.js';
import { Lifecycle, type Component } from '../../edge-agent/src/lifecycle.js';
import { silentLogger } from '../../edge-agent/src/log.js';

function recorder() {
  const events: string[] = [];
  const make = (name: string, dependsOn: string[] = [], behaviour: { failStart?: boolean; failStop?: boolean; hangStop?: boolean } = {}): Component => ({
    name,
    dependsOn,
    async start() {
      events.push(`start ${name}`);
      if (behaviour.failStart) throw new Error(`${name} cannot start`);
    },
    async stop() {
      events.push(`stop ${name}`);
      if (behaviour.failStop) throw new Error(`${name} cannot stop`);
      if (behaviour.hangStop) await new Promise(() => undefined);
    },
  });
  return { events, make };
}

describe('Lifecycle', () => {
  it('starts in dependency order and stops in reverse', async () => {
    const { events, make } = recorder();
    // Registered out of order on purpose.
    const lifecycle = new Lifecycle([make('admin', ['database', 'shelf']), make('shelf', ['database']), make('database')], silentLogger());
    expect(lifecycle.startOrder).toEqual(['database', 'shelf', 'admin']);
    await lifecycle.start();
    expect(Object.values(lifecycle.report()).map((r) => r.state)).toEqual(['running', 'running', 'running']);
    await lifecycle.stop();
    expect(events).toEqual(['start database', 'start shelf', 'start admin', 'stop admin', 'stop shelf', 'stop database']);
  });

  it('keeps registration order among independent components', () => {
    const { make } = recorder();
    const lifecycle = new Lifecycle([make('b'), make('a'), make('c', ['a'])], silentLogger());
    expect(lifecycle.startOrder).toEqual(['b', 'a', 'c']);
  });

  it('stops what already started when a component fails to start', async () => {
    const { events, make } = recorder();
    const lifecycle = new Lifecycle([make('database'), make('shelf', ['database']), make('admin', ['shelf'], { failStart: true })], silentLogger());
    const err = await lifecycle.start().catch((e: unknown) => e);
    expect(isEdgeError(err, ErrorCode.LifecycleStartFailed)).toBe(true);
    expect((err as Error).message).toBe('admin failed to start: admin cannot start');
    expect(events).toEqual(['start database', 'start shelf', 'start admin', 'stop shelf', 'stop database']);
    expect(lifecycle.state('admin')).toBe('failed');
    expect(lifecycle.state('database')).toBe('stopped');
  });

  it('keeps stopping the rest when one component fails or hangs on stop', async () => {
    const { events, make } = recorder();
    const lifecycle = new Lifecycle([make('database'), make('camera', ['database'], { hangStop: true }), make('scale', ['database'], { failStop: true })], silentLogger(), {
      stopTimeoutMs: 50,
    });
    await lifecycle.start();
    const failed = await lifecycle.stop();
    expect(failed).toEqual(['scale', 'camera']);
    expect(events.slice(3)).toEqual(['stop scale', 'stop camera', 'stop database']);
    expect(lifecycle.state('database')).toBe('stopped');
  });

  it('rejects dependency cycles, unknown dependencies and duplicate names before starting anything', () => {
    const { make } = recorder();
    expect(() => new Lifecycle([make('a', ['b']), make('b', ['c']), make('c', ['a'])], silentLogger())).toThrow(
      'components depend on each other: a -> b -> c -> a',
    );
    expect(() => new Lifecycle([make('a', ['ghost'])], silentLogger())).toThrow('a depends on unknown component "ghost"');
    expect(() => new Lifecycle([make('a'), make('a')], silentLogger())).toThrow('two components are named "a"');
  });

  it('reports health per component, down for components not running and for a throwing health check', async () => {
    const { make } = recorder();
    const sick: Component = { ...make('sick'), health: () => { throw new Error('probe broke'); } };
    const fine: Component = { ...make('fine'), health: () => ({ status: 'degraded', detail: 'one plate offline' }) };
    const lifecycle = new Lifecycle([fine, sick], silentLogger());
    expect(lifecycle.report()['fine']).toEqual({ status: 'down', detail: 'stopped', state: 'stopped' });
    await lifecycle.start();
    expect(lifecycle.report()).toEqual({
      fine: { status: 'degraded', detail: 'one plate offline', state: 'running' },
      sick: { status: 'down', detail: 'health check threw: probe broke', state: 'running' },
    });
  });
});
