/**
 * Shelf screens in a running agent (real SQLite, real HTTP): the page and its stream refuse a
 * wrong token; a stream gets the idle card at once; shopper behaviour on the bus changes the
 * screen's cards only after the exposure is stored; a pick of a shown product by the shopper at
 * the screen is attributed; cloud content replaces the idle cards; the hourly exposure summary
 * counts it all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import type { BusEvents } from '../../edge-agent/src/bus.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ScreenCardMessage } from '../../edge-agent/src/signage/screen-channels.js';
import { demoConfig, writeJson } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';
import { lastJsonLine, runCli, waitUntil } from '../support/cli.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Reads an SSE stream into a list of { event, data } until aborted. */
async function listen(url: string): Promise<{ events: { event: string; data: any }[]; abort: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: { event: string; data: any }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, abort: () => controller.abort() };
}

describe('shelf screens in the agent', { timeout: 60_000 }, () => {
  it('serves screens with their token, changes cards on shopper behaviour, stores exposures and attributes picks', async () => {
    const base = demoConfig(tempDir());
    // Devices would only be retried without a simulator: the bus stands in for them here.
    const config = { ...base, cameras: [], gates: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 }, signage: { ...base.signage, showSeconds: 1 } };
    const agent = new Agent({ config, secrets: { screenTokens: new Map([['screen-2', 'from-the-environment']]) }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    const url = agent.adminUrl!;
    const token = agent.signage.token('screen-1')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(agent.signage.token('screen-2')).toBe('from-the-environment');

    expect((await fetch(`${url}/screens/screen-1?token=wrong`)).status).toBe(401);
    expect((await fetch(`${url}/screens/screen-1`)).status).toBe(400);
    expect((await fetch(`${url}/screens/screen-1/events?token=from-the-environment`)).status).toBe(401);
    expect((await fetch(`${url}/screens/nope?token=${token}`)).status).toBe(404);
    const page = await fetch(`${url}/screens/screen-1?token=${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Drinks and snacks');

    const cards: BusEvents['signage.card'][] = [];
    agent.bus.on('signage.card', 'test', (c) => void cards.push(c));
    const attributed: BusEvents['signage.attributed'][] = [];
    agent.bus.on('signage.attributed', 'test', (a) => void attributed.push(a));
    const stream = await listen(`${url}/screens/screen-1/events?token=${token}`);
    cleanups.push(async () => stream.abort());
    await waitUntil(async () => stream.events.length >= 2, 5_000, 'hello and the current card');
    expect(stream.events[0]).toMatchObject({ event: 'hello', data: { screen: 'screen-1', name: 'Drinks and snacks', store: config.store.name } });
    const idle = stream.events[1]!.data as ScreenCardMessage;
    expect(idle).toMatchObject({ screen: 'screen-1', trigger: 'idle', until: null });

    // A shopper lingers at the drinks shelves: cards of those shelves, stored before they are sent.
    const now = Date.now();
    agent.bus.emit('analytics.lingering', { shopper: 'track-7', zone: 'front-1', gondola: 1, enteredAt: now - 20_000, at: now });
    await waitUntil(async () => stream.events.some((e) => e.data.trigger === 'lingering'), 2_000, 'the lingering card');
    const lingering = stream.events.find((e) => e.data.trigger === 'lingering')!.data as ScreenCardMessage;
    const onScreenShelves = new Set(config.planogram.products.filter((p) => p.plates.some((plate) => /^1\.[1-4]\./.test(plate))).map((p) => p.id));
    expect(lingering.cards.length).toBeGreaterThan(0);
    for (const c of lingering.cards) expect(onScreenShelves.has(c.product)).toBe(true);
    expect(lingering.cards[0]!.priceText).toMatch(/^€\d+\.\d\d$/);
    const stored = agent.database.handle.prepare('SELECT trigger, rule, shopper, zone, products FROM screen_exposures WHERE id = ?').get(lingering.exposureId);
    expect(stored).toEqual({ trigger: 'lingering', rule: 'lingering', shopper: 'track-7', zone: 'front-1', products: JSON.stringify(lingering.cards.map((c) => c.product)) });
    // The card's image is served with the token.
    const image = await fetch(`${url}${lingering.cards[0]!.image}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect((await image.arrayBuffer()).byteLength).toBeGreaterThan(1_000);

    // The same shopper lingering again soon after: held back (the rule's cooldown).
    agent.bus.emit('analytics.lingering', { shopper: 'track-7', zone: 'front-1', gondola: 1, enteredAt: now - 20_000, at: now + 5_000 });
    expect(agent.signage.counts.refused.cooldown).toBe(1);

    // The shopper takes the first product shown: the pick is attributed to the card.
    const shown = lingering.cards[0]!.product;
    const plate = config.planogram.products.find((p) => p.id === shown)!.plates[0]!;
    const shelf = plate.split('.').slice(0, 2).join('.');
    const pickAt = now + 1_000;
    agent.bus.emit('analytics.pick', { shopper: 'track-7', shelf, zone: 'front-1', distanceM: 0.3, at: pickAt });
    agent.bus.emit('shelf.weight-event', {
      id: 1, shelf, plates: [plate], tStart: pickAt - 1_500, tEnd: pickAt, deltaGrams: -500, perPlate: { [plate]: -500 }, noiseSigma: 1, kind: 'pick',
      candidates: [{ product: shown, count: 1, probability: 0.97, misplaced: false }], flags: [],
    });
    expect(attributed).toEqual([{ screen: 'screen-1', exposureId: lingering.exposureId, product: shown, shopper: 'track-7', at: pickAt }]);
    // The pick itself triggers "goes well with" on the screen (another rule, its own cooldown).
    await waitUntil(async () => stream.events.some((e) => e.data.trigger === 'pick'), 2_000, 'the pick card');
    const pickCard = stream.events.find((e) => e.data.trigger === 'pick')!.data as ScreenCardMessage;
    expect(pickCard.cards.map((c) => c.product)).not.toContain(shown);

    // Two shoppers arriving together at the promotion table: a group for screen-3 only.
    agent.bus.emit('analytics.dwell-started', { shopper: 'a', zone: 'promo', zoneType: 'promo', enteredAt: now, at: now + 9_000 });
    agent.bus.emit('analytics.dwell-started', { shopper: 'b', zone: 'promo', zoneType: 'promo', enteredAt: now, at: now + 10_000 });
    expect(cards.filter((c) => c.trigger === 'group').map((c) => c.screen)).toEqual(['screen-3']);

    // Content from the cloud replaces the idle cards once the triggered ones have run out.
    const cloudProducts = [...onScreenShelves].slice(-2);
    agent.bus.emit('screen.content', { screen: 'screen-1', content: { products: cloudProducts, title: 'Tonight only' }, expiresAt: null, at: Date.now() });
    await waitUntil(async () => stream.events.some((e) => e.data.trigger === 'cloud'), 5_000, 'the cloud content after the pick card ran out');
    const cloud = stream.events.find((e) => e.data.trigger === 'cloud')!.data as ScreenCardMessage;
    expect(cloud).toMatchObject({ title: 'Tonight only', until: null });
    expect(cloud.cards.map((c) => c.product)).toEqual(cloudProducts);
    const hour = agent.signage.hour(now - 3_600_000, now + 3_600_000)!;
    expect(hour.find((h) => h.screen === 'screen-1')).toMatchObject({ byTrigger: { idle: 1, lingering: 1, pick: 1, cloud: 1 }, attributedPicks: 1 });
    expect(hour.find((h) => h.screen === 'screen-3')!.byTrigger['group']).toBe(1);
    stream.abort();
    await agent.stop('test');

    // Staff tools on the same database: the screens' addresses and the uplift report.
    const file = writeJson(tempDir(), 'store.json', config);
    const urls = await runCli(['screens', 'urls', '--config', file, '--base-url', 'http://10.0.0.5:8080']);
    expect(urls.code).toBe(0);
    expect(lastJsonLine(urls.stdout).screens[0]).toMatchObject({ screen: 'screen-1', url: `http://10.0.0.5:8080/screens/screen-1?token=${token}`, tokenFrom: 'store database' });
    const report = await runCli(['screens', 'report', '--config', file, '--from', new Date(now - 3_600_000).toISOString(), '--to', new Date(now + 3_600_000).toISOString()]);
    expect(report.code).toBe(0);
    // One attributed pick on one triggered card of three (lingering, pick); none on idle content.
    const screen1 = (lastJsonLine(report.stdout).uplift as { screen: string }[]).find((u) => u.screen === 'screen-1');
    expect(screen1).toMatchObject({ triggered: { exposures: 2, attributed: 1 }, idle: { attributed: 0 }, uplift: null });
    expect(report.stderr).toMatch(/screen-1: triggered 1 picks \/ 2 cards/);
  });
});
