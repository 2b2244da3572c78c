/**
 * Shelf screens in the agent: shopper behaviour on the bus (lingering, a pick, a put-back soon
 * after the pick, a group arriving) passes the rules of the store configuration, becomes cards
 * chosen from local co-purchase rules, promotions and the cloud's content, is stored as an
 * exposure fact, and only then reaches the screen over SSE. Picks of a shown product by a shopper
 * at the screen within the attribution window are attributed to the card.
 */
import type { ScreenConfig, SignageRuleConfig, StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { ScreenContentRepository, type ScreenContent } from '../db/repositories/screen-content.js';
import { ScreenExposureRepository, type ScreenHour, type ScreenTrigger } from '../db/repositories/screen-exposures.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { WeightEvent } from '../shelf/weight-event.js';
import { CardPicker, type CardSet } from './card-picker.js';
import { CoPurchaseModel } from './co-purchase.js';
import { ScreenChannels, type ScreenCardMessage } from './screen-channels.js';
import type { StockView } from './shelf-stock-view.js';
import { TriggerGate, type Refusal } from './trigger-gate.js';

const DAY = 86_400_000;
const TICK_MS = 250;
/** Idle content is looked at again this often (promotions start and end, stock runs out). */
const IDLE_REFRESH_MS = 60_000;
/** A pick credit belongs to the weight event it was made for. */
const CREDIT_MATCH_MS = 2_000;

export interface SignageServiceOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
  clock: () => number;
  stock: StockView;
  /** Tokens from the environment, by screen; screens without one get a stored token. */
  tokens: ReadonlyMap<string, string>;
}

interface ScreenState {
  screen: ScreenConfig;
  exposureId: number | null;
  trigger: ScreenTrigger;
  products: string[];
  shownAt: number;
  /** When the triggered cards give way to idle content; null while idle. */
  until: number | null;
  idleCheckedAt: number;
}

interface RecentPick {
  shelf: string;
  product: string;
  shopper: string | null;
  at: number;
}

export interface SignageCounts {
  triggers: number;
  shown: number;
  idleShown: number;
  attributed: number;
  nothingToShow: number;
  refused: Record<Refusal, number>;
  failures: number;
}

export class SignageService implements Component {
  readonly name = 'signage';
  readonly dependsOn = ['database', 'analytics'] as const;
  readonly channels = new ScreenChannels();
  private exposures: ScreenExposureRepository | undefined;
  private content: ScreenContentRepository | undefined;
  private picker: CardPicker;
  private gate: TriggerGate;
  private model = CoPurchaseModel.empty();
  private modelAt: number | null = null;
  private readonly screens = new Map<string, ScreenState>();
  private readonly cloud = new Map<string, { content: ScreenContent; expiresAt: number | null }>();
  private readonly credits = new Map<string, { shopper: string; zone: string | null; at: number }>();
  private readonly picks: RecentPick[] = [];
  private readonly arrivals = new Map<string, { shopper: string; at: number }[]>();
  private readonly tokens = new Map<string, string>();
  private tick: NodeJS.Timeout | undefined;
  private refresh: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  readonly counts: SignageCounts = { triggers: 0, shown: 0, idleShown: 0, attributed: 0, nothingToShow: 0, refused: { 'quiet-hours': 0, cooldown: 0, 'shopper-cooldown': 0, rate: 0 }, failures: 0 };

  constructor(private readonly options: SignageServiceOptions) {
    const { config } = options;
    this.picker = new CardPicker(config, () => this.model, options.stock);
    this.gate = new TriggerGate(config.signage, config.store.timezone);
  }

  /** The screen's access token (from the environment, else stored); undefined for an unknown screen. */
  token(screen: string): string | undefined {
    return this.tokens.get(screen);
  }

  screen(id: string): ScreenConfig | undefined {
    return this.screens.get(id)?.screen;
  }

  async start(): Promise<void> {
    const { config, bus, database } = this.options;
    if (config.screens.length === 0) return;
    this.exposures = new ScreenExposureRepository(database.handle);
    this.content = new ScreenContentRepository(database.handle);
    const now = this.options.clock();
    for (const screen of config.screens) this.tokens.set(screen.id, this.options.tokens.get(screen.id) ?? this.exposures.token(screen.id, now));
    for (const c of this.content.valid(now)) this.cloud.set(c.screen, { content: { products: c.products, ...(c.title ? { title: c.title } : {}), ...(c.message ? { message: c.message } : {}) }, expiresAt: c.expiresAt });
    this.refreshModel();
    for (const screen of config.screens) {
      this.screens.set(screen.id, { screen, exposureId: null, trigger: 'idle', products: [], shownAt: now, until: null, idleCheckedAt: now });
      this.showIdle(this.screens.get(screen.id)!, now, true);
    }
    bus.on('analytics.lingering', this.name, (e) => this.trigger('lingering', e.zone, null, e.shopper, e.at, {}));
    bus.on('analytics.dwell-started', this.name, (e) => this.arrival(e.zone, e.shopper, e.at));
    bus.on('analytics.pick', this.name, (c) => void this.credits.set(c.shelf, { shopper: c.shopper, zone: c.zone, at: c.at }));
    bus.on('shelf.weight-event', this.name, (e) => this.weightEvent(e));
    bus.on('screen.content', this.name, (c) => {
      if (c.content) this.cloud.set(c.screen, { content: { ...c.content }, expiresAt: c.expiresAt });
      else this.cloud.delete(c.screen);
      const state = this.screens.get(c.screen);
      if (state && state.until === null) this.showIdle(state, this.options.clock(), true);
    });
    this.channels.open();
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.tick.unref();
    this.refresh = setInterval(() => this.refreshModel(), config.signage.recommendations.refreshMinutes * 60_000);
    this.refresh.unref();
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    clearInterval(this.tick);
    clearInterval(this.refresh);
    this.channels.closeAll();
    this.exposures = undefined;
  }

  health(): ComponentHealth {
    if (this.options.config.screens.length === 0) return { status: 'up', detail: 'no screens configured' };
    return {
      status: this.lastError ? 'degraded' : 'up',
      ...(this.lastError ? { detail: `screen facts not stored: ${this.lastError}` } : {}),
      screens: Object.fromEntries(
        [...this.screens.values()].map((s) => [s.screen.id, { connected: this.channels.connected(s.screen.id), trigger: s.trigger, products: s.products, shownAt: new Date(s.shownAt).toISOString() }]),
      ),
      recommendations: { baskets: this.model.baskets, rules: this.model.ruleCount, minedAt: this.modelAt === null ? null : new Date(this.modelAt).toISOString() },
      counters: { ...this.counts, refused: { ...this.counts.refused } },
    };
  }

  /** Cards shown per screen and trigger in [from, to), for the hourly summary. */
  hour(from: number, to: number): ScreenHour[] | undefined {
    return this.exposures?.hour(from, to);
  }

  /** Mines the co-purchase rules again from the receipts of the look-back window. */
  refreshModel(): void {
    if (!this.exposures) return;
    const r = this.options.config.signage.recommendations;
    const now = this.options.clock();
    try {
      this.model = CoPurchaseModel.mine(this.exposures.baskets(now - r.lookbackDays * DAY), r);
      this.modelAt = now;
    } catch (err) {
      this.fail(err);
    }
  }

  get recommendations(): CoPurchaseModel {
    return this.model;
  }

  private weightEvent(e: WeightEvent): void {
    const top = e.candidates[0];
    if (!top?.product || top.probability < 0.5) return;
    const credit = this.credits.get(e.shelf);
    const shopper = credit && Math.abs(credit.at - e.tEnd) <= CREDIT_MATCH_MS ? credit : undefined;
    const at = e.tEnd;
    const window = this.options.config.signage.hesitationSeconds * 1000;
    while (this.picks.length > 0 && at - this.picks[0]!.at > window) this.picks.shift();
    if (e.kind === 'pick') {
      this.picks.push({ shelf: e.shelf, product: top.product, shopper: shopper?.shopper ?? null, at });
      if (shopper) this.attribute(top.product, e.shelf, shopper.zone, shopper.shopper, at);
      this.trigger('pick', shopper?.zone ?? null, e.shelf, shopper?.shopper ?? null, at, { product: top.product });
      return;
    }
    const i = this.picks.findIndex((p) => p.shelf === e.shelf && p.product === top.product);
    if (i < 0) return;
    const pick = this.picks.splice(i, 1)[0]!;
    this.trigger('hesitation', shopper?.zone ?? null, e.shelf, shopper?.shopper ?? pick.shopper, at, { product: top.product });
  }

  /** Shoppers starting a visit of the same zone within the window make a group. */
  private arrival(zone: string, shopper: string, at: number): void {
    const { groupSize, groupWindowSeconds } = this.options.config.signage;
    let list = this.arrivals.get(zone);
    if (!list) this.arrivals.set(zone, (list = []));
    while (list.length > 0 && at - list[0]!.at > groupWindowSeconds * 1000) list.shift();
    if (list.some((a) => a.shopper === shopper)) return;
    list.push({ shopper, at });
    if (list.length < groupSize) return;
    list.length = 0;
    this.trigger('group', zone, null, shopper, at, {});
  }

  private trigger(kind: 'lingering' | 'pick' | 'hesitation' | 'group', zone: string | null, shelf: string | null, shopper: string | null, at: number, context: { product?: string }): void {
    for (const rule of this.options.config.signage.rules) {
      if (rule.on !== kind) continue;
      for (const state of this.screens.values()) {
        if (!this.addresses(rule, state.screen, zone, shelf)) continue;
        this.counts.triggers += 1;
        const cards = this.picker.forTrigger(state.screen, kind, context, at, rule.title);
        if (!cards) {
          this.counts.nothingToShow += 1;
          continue;
        }
        const refusal = this.gate.admit(state.screen.id, rule, shopper, at);
        if (refusal) {
          this.counts.refused[refusal] += 1;
          continue;
        }
        this.show(state, cards, rule, shopper, zone, at, at + this.options.config.signage.showSeconds * 1000);
      }
    }
  }

  /** Whether a rule listens, for this screen, to something that happened in this zone or at this shelf. */
  private addresses(rule: SignageRuleConfig, screen: ScreenConfig, zone: string | null, shelf: string | null): boolean {
    if (rule.screens && !rule.screens.includes(screen.id)) return false;
    if (rule.zones) return zone !== null && rule.zones.includes(zone);
    return (zone !== null && zone === screen.zone) || (shelf !== null && screen.shelves.includes(shelf));
  }

  private attribute(product: string, shelf: string, zone: string | null, shopper: string, at: number): void {
    const windowMs = this.options.config.signage.attributionSeconds * 1000;
    for (const state of this.screens.values()) {
      if (zone !== state.screen.zone && !state.screen.shelves.includes(shelf)) continue;
      for (const e of this.exposures?.recent(state.screen.id, 20) ?? []) {
        if (at - e.shownAt > windowMs) break;
        if (e.shownAt > at || !e.products.includes(product)) continue;
        try {
          if (this.exposures!.attribute(e.id, state.screen.id, product, shopper, at)) {
            this.counts.attributed += 1;
            this.options.bus.emit('signage.attributed', { screen: state.screen.id, exposureId: e.id, product, shopper, at });
          }
        } catch (err) {
          this.fail(err);
        }
        break;
      }
    }
  }

  private onTick(): void {
    const now = this.options.clock();
    for (const state of this.screens.values()) {
      if (state.until !== null && now >= state.until) this.showIdle(state, now, true);
      else if (state.until === null && now - state.idleCheckedAt >= IDLE_REFRESH_MS) this.showIdle(state, now, false);
    }
  }

  /** Idle content; with `force` false only when it differs from what the screen shows. */
  private showIdle(state: ScreenState, at: number, force: boolean): void {
    state.idleCheckedAt = at;
    let cloud = this.cloud.get(state.screen.id);
    if (cloud && cloud.expiresAt !== null && at >= cloud.expiresAt) {
      this.cloud.delete(state.screen.id);
      cloud = undefined;
    }
    const cards = this.picker.idle(state.screen, cloud?.content, at);
    const products = cards.cards.map((c) => c.product);
    if (!force && state.until === null && state.trigger === cards.trigger && products.join() === state.products.join()) return;
    this.show(state, cards, null, null, null, at, null);
  }

  private show(state: ScreenState, cards: CardSet, rule: SignageRuleConfig | null, shopper: string | null, zone: string | null, at: number, until: number | null): void {
    const exposures = this.exposures;
    if (!exposures) return;
    const products = cards.cards.map((c) => c.product);
    let exposureId: number | null = null;
    try {
      // The fact first: a card the database does not hold never reaches a screen.
      if (state.exposureId !== null) exposures.ended(state.exposureId, at);
      exposureId = exposures.record({ screen: state.screen.id, trigger: cards.trigger, rule: rule?.id ?? null, shopper, zone, products, title: cards.title, shownAt: at, untilAt: until });
    } catch (err) {
      this.fail(err);
      return;
    }
    Object.assign(state, { exposureId, trigger: cards.trigger, products, shownAt: at, until });
    if (until === null) this.counts.idleShown += 1;
    else this.counts.shown += 1;
    this.channels.publish(this.message(state.screen, exposureId, cards, at, until));
    this.options.bus.emit('signage.card', { screen: state.screen.id, exposureId, trigger: cards.trigger, rule: rule?.id ?? null, shopper, products, at });
  }

  private message(screen: ScreenConfig, exposureId: number, cards: CardSet, at: number, until: number | null): ScreenCardMessage {
    const { store } = this.options.config;
    const price = new Intl.NumberFormat(store.locale, { style: 'currency', currency: store.currency });
    const token = encodeURIComponent(this.tokens.get(screen.id) ?? '');
    return {
      v: 1,
      exposureId,
      screen: screen.id,
      trigger: cards.trigger,
      title: cards.title,
      ...(cards.message ? { message: cards.message } : {}),
      cards: cards.cards.map((c) => {
        const p = this.picker.product(c.product)!;
        return {
          product: p.id,
          name: p.name,
          priceText: price.format(p.price / 100),
          image: `/screens/${encodeURIComponent(screen.id)}/products/${encodeURIComponent(p.id)}/image?token=${token}`,
          reason: c.reason,
        };
      }),
      shownAt: new Date(at).toISOString(),
      until: until === null ? null : new Date(until).toISOString(),
    };
  }

  private fail(err: unknown): void {
    this.counts.failures += 1;
    this.lastError = describeError(err);
    this.options.log.error({ err }, 'shelf screen fact not stored');
  }
}
