/**
 * Shelf stock in a running agent, fed calibrated shelf readings the way a shelf controller's
 * samples arrive (50 Hz, with noise): picks and put-backs move the counts, settled plates confirm
 * them, low and out-of-stock are alerted once the shelf has settled, a staff restock is stock and
 * never a cart line, a misplaced item is alerted until it is taken away, a drifting plate keeps its
 * count, and the levels survive a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import type { BusEvents } from '../../edge-agent/src/bus.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BADGE = 'E28011700000020B00000001';

function storeConfig(dir: string) {
  const base = demoConfig(dir);
  return {
    ...base,
    cameras: [],
    gates: [],
    rfid: { ...base.rfid, readers: [] },
    alerts: { ...base.alerts, diskLowMb: 0 },
    analytics: { ...base.analytics, staffBadges: ['E2801170'] },
    stock: { ...base.stock, lowUnits: 2 },
  };
}

/** A shelf's plates in grams, fed to the agent at 50 Hz with a little deterministic noise. */
class ShelfFeed {
  at = Date.UTC(2026, 11, 7, 9);
  private k = 0;
  constructor(
    private readonly agent: Agent,
    readonly shelf: string,
    readonly grams: number[],
  ) {}

  run(seconds: number, during?: (t: number) => void): void {
    const steps = Math.round(seconds * 50);
    for (let i = 0; i < steps; i++) {
      during?.(i / 50);
      this.at += 20;
      this.k += 1;
      const g = new Float64Array(this.grams.map((x, j) => x + 0.4 * Math.sin(this.k * 1.7 + j)));
      this.agent.gramsSink({ shelf: this.shelf, at: this.at, grams: g });
    }
  }

  /** A hand takes (negative) or puts (positive) grams on a plate, then lets go. */
  move(plateIndex: number, grams: number): void {
    // Ten steps of a tenth each (samples 5–14 of 20), so the plate moves by exactly `grams`.
    this.run(0.4, (t) => {
      if (t >= 0.099 && t < 0.299) this.grams[plateIndex]! += grams / 10;
    });
    this.run(4);
  }
}

/** A running agent on the store, with the alerts (+raised, -resolved) and weight events it announces. */
async function startStore() {
  const config = storeConfig(tempDir());
  const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
  await agent.start();
  cleanups.push(async () => void (await agent.stop('test')));
  const alerts: string[] = [];
  agent.bus.on('alert.raised', 'test', (a) => void alerts.push(`+${a.kind} ${a.subject}`));
  agent.bus.on('alert.resolved', 'test', (a) => void alerts.push(`-${a.kind} ${a.subject}`));
  const events: BusEvents['shelf.weight-event'][] = [];
  agent.bus.on('shelf.weight-event', 'test', (e) => void events.push(e));
  return { config, agent, alerts, events };
}

describe('shelf stock', { timeout: 60_000 }, () => {
  it('counts units per facing, alerts low and out of stock after settling, and tells restocking from shopping', async () => {
    const { agent, alerts, events } = await startStore();

    // Shelf 1.1: still water on plates 1 and 2, sparkling water (530 g) on 3 and 4, juice on 5 and 6.
    const units = [4, 4, 3, 5, 4, 4];
    const weights = [1560, 1560, 530, 530, 1080, 1080];
    const feed = new ShelfFeed(agent, '1.1', units.map((n, i) => n * weights[i]!));
    feed.run(4);
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 3 });
    expect(agent.stock.book.unitsOf('water-sparkling-500')).toBe(8);

    // A shopper takes one: a sale; two left is low.
    feed.move(2, -530);
    expect(events.at(-1)).toMatchObject({ kind: 'pick', plates: ['1.1.3'] });
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 2 });
    expect(alerts).toEqual(['+low-stock 1.1.3']);
    // Two more: out of stock (and no longer merely low).
    feed.move(2, -530);
    feed.move(2, -530);
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 0 });
    expect(alerts).toEqual(['+low-stock 1.1.3', '+out-of-stock 1.1.3', '-low-stock 1.1.3']);
    expect(agent.stock.inStock('water-sparkling-500')).toBe(true);

    // Staff with a badge fill the plate: stock arriving, never a cart line or a put-back.
    agent.bus.emit('rfid.tag', { kind: 'seen', epc: BADGE, reader: 'rfid-shelf-1.1', antenna: 1, shelf: '1.1', product: null, at: feed.at } as never);
    feed.move(2, 530 * 3);
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 3 });
    expect(alerts.slice(-1)).toEqual(['-out-of-stock 1.1.3']);
    const moves = agent.database.handle.prepare('SELECT kind, delta FROM stock_movements WHERE plate = ? ORDER BY id').all('1.1.3');
    expect(moves).toEqual([
      { kind: 'counted', delta: 3 },
      { kind: 'sale', delta: -1 },
      { kind: 'sale', delta: -1 },
      { kind: 'sale', delta: -1 },
      { kind: 'restock', delta: 3 },
    ]);
    expect((agent.health().components['checkout'] as unknown as { counters: { restockArrivals: number } }).counters.restockArrivals).toBe(1);
    expect(agent.database.handle.prepare('SELECT COUNT(*) AS n FROM cart_lines').get()).toEqual({ n: 0 });
    // The shelf's restock button: pressed, a put is stock arriving; pressed again, a put is a put-back.
    const restockArrivals = () => (agent.health().components['checkout'] as unknown as { counters: { restockArrivals: number } }).counters.restockArrivals;
    agent.stock.restock.stop('1.1');
    agent.bus.emit('shelf.button', { shelf: '1.1', button: 'RESTOCK', at: feed.at });
    feed.move(2, 530);
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 4 });
    expect(restockArrivals()).toBe(2);
    agent.bus.emit('shelf.button', { shelf: '1.1', button: 'RESTOCK', at: feed.at });
    expect(agent.stock.restock.active('1.1', feed.at)).toBe(false);
    feed.move(2, -530);
    expect(agent.stock.book.facing('1.1.3')).toMatchObject({ units: 3 });
    const outage = agent.database.handle.prepare('SELECT plate, ended_at IS NOT NULL AS ended FROM stock_outages').all();
    expect(outage).toEqual([{ plate: '1.1.3', ended: 1 }]);

    // The hour for the cloud: what sold, what came back, how long the facing was empty.
    const hour = agent.stock.hour(Date.UTC(2026, 11, 7, 9), Date.UTC(2026, 11, 7, 10))!;
    const sparkling = hour.find((p) => p.product === 'water-sparkling-500')!;
    expect(sparkling).toMatchObject({ unitsOnShelf: 8, sold: 4, putBack: 0, velocity: 4, restocked: 4, corrected: 0 });
    expect(sparkling.outOfStockSeconds).toHaveLength(1);
    expect(sparkling.outOfStockSeconds[0]!.plate).toBe('1.1.3');
    expect(sparkling.outOfStockSeconds[0]!.seconds).toBeGreaterThanOrEqual(4);
  });

  it('alerts an item left on a foreign plate until it is taken away, and keeps a drifting plate counted', async () => {
    const { config, agent, alerts, events } = await startStore();

    // Shelf 1.4: chewing gum (29 g) on 1–2, mints (23 g) on 3–4, nuts (212 g) on 5–6.
    const units = [12, 12, 14, 14, 6, 6];
    const weights = [29, 29, 23, 23, 212, 212];
    const feed = new ShelfFeed(agent, '1.4', units.map((n, i) => n * weights[i]!));
    feed.run(4);
    expect(agent.stock.book.facing('1.4.3')).toMatchObject({ units: 14 });

    // Someone leaves a bag of nuts on the mints.
    feed.move(2, 212);
    // What the weight says was put there (whatever fits 212 g best) does not belong on the mints.
    const put = events.at(-1)!;
    const stray = put.candidates[0]!;
    expect(stray).toMatchObject({ misplaced: true });
    expect(stray.product).not.toBe('mints-strong-22');
    expect(alerts).toEqual([`+misplaced 1.4.3:${stray.product}`]);
    expect(agent.stock.book.facing('1.4.3')).toMatchObject({ units: 14 });
    feed.move(2, -212);
    // Taken away again: weight-wise as likely eight packs of mints, but the stray's weight fits better.
    expect(alerts).toEqual([`+misplaced 1.4.3:${stray.product}`, `-misplaced 1.4.3:${stray.product}`]);
    expect(agent.stock.book.facing('1.4.3')).toMatchObject({ units: 14 });
    // A second stray stays through the restart below.
    feed.move(4, 23);
    expect(agent.stock.book.facing('1.4.5')!.foreign).toHaveLength(1);

    // The mints' load cell creeps up by 18 g over twelve minutes (most of a unit; 90 g/h, a fast
    // drift for a load cell): still 14.
    feed.run(720, () => {
      feed.grams[2]! += 18 / (720 * 50);
    });
    expect(agent.stock.book.facing('1.4.3')).toMatchObject({ units: 14 });
    expect(agent.stock.book.facing('1.4.3')!.zero).toBeGreaterThan(12);
    expect(alerts.filter((a) => a.includes('1.4.3'))).toHaveLength(2);
    expect(alerts.filter((a) => a.startsWith('+misplaced 1.4.5:'))).toHaveLength(1);
    await agent.stop('restart');

    // A restart starts from the stored levels and the tracked zero.
    const again = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await again.start();
    cleanups.push(async () => void (await again.stop('test')));
    expect(again.stock.book.facing('1.4.3')).toMatchObject({ units: 14 });
    expect(again.stock.book.facing('1.4.3')!.zero).toBeGreaterThan(12);
    expect(again.stock.book.facing('1.4.5')!.foreign.map((f) => f.product)).toEqual(['mints-strong-22']);
  });
});
