import { describe, expect, it } from 'vitest';
import { Backoff } from '../../edge-agent/src/backoff.js';

describe('back-off', () => {
  it('grows, and starts over only after the device has kept working for the stable time', () => {
    let now = 0;
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 }, Math.random, 10_000, () => now);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    // Connected, answered, and dropped a moment later: not proof of health.
    b.up();
    now += 50;
    expect(b.next()).toBe(800);
    expect(b.next()).toBe(1_000);
    // Up for the stable time before the loss: the next retry is quick again.
    b.up();
    now += 10_000;
    expect(b.next()).toBe(100);
    expect(b.next()).toBe(200);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
