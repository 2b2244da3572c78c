/**
 * Which products a screen shows, and why. Triggered cards come from what the shopper did: what
 * goes with a product just taken (co-purchase rules from local receipts), alternatives to one put
 * back, offers and favourites of the shelves being looked at. Idle content is the cloud's, else
 * the promotions of the planogram, else the shelves' favourites. Nothing out of stock, ever.
 */
import type { ProductConfig, PromotionConfig, ScreenConfig, StoreConfig } from '../../../device-config/schema.js';
import type { ScreenContent } from '../db/repositories/screen-content.js';
import type { ScreenTrigger } from '../db/repositories/screen-exposures.js';
import type { CoPurchaseModel } from './co-purchase.js';
import type { StockView } from './shelf-stock-view.js';

export interface CardChoice {
  product: string;
  reason: string;
}

export interface CardSet {
  trigger: ScreenTrigger;
  title: string;
  message?: string;
  cards: CardChoice[];
}

export interface TriggerContext {
  /** The product picked or put back. */
  product?: string;
}

export class CardPicker {
  private readonly products: ReadonlyMap<string, ProductConfig>;
  private readonly onShelves = new Map<string, string[]>();

  constructor(
    private readonly config: StoreConfig,
    private readonly model: () => CoPurchaseModel,
    private readonly stock: StockView,
  ) {
    this.products = new Map(config.planogram.products.map((p) => [p.id, p]));
    for (const screen of config.screens) {
      const shelves = new Set(screen.shelves);
      const near = config.planogram.products.filter((p) => p.plates.some((plate) => shelves.has(plate.split('.').slice(0, 2).join('.')))).map((p) => p.id);
      // A screen at no shelf (a promotion table, the entrance) speaks for the whole store.
      this.onShelves.set(screen.id, near.length > 0 ? near : config.planogram.products.map((p) => p.id));
    }
  }

  product(id: string): ProductConfig | undefined {
    return this.products.get(id);
  }

  /** Cards for a shopper trigger, or undefined when there is nothing worth showing. */
  forTrigger(screen: ScreenConfig, trigger: Exclude<ScreenTrigger, 'idle' | 'cloud'>, context: TriggerContext, at: number, title?: string): CardSet | undefined {
    const max = this.config.signage.maxCards;
    const picked = new Cards(max, (id) => this.available(id), context.product);
    const anchor = context.product ? this.products.get(context.product) : undefined;
    switch (trigger) {
      case 'pick': {
        if (!anchor) return undefined;
        for (const rule of this.model().rulesFrom(anchor.id)) picked.add(rule.to, `Goes well with ${anchor.name}`);
        if (anchor.category) for (const id of this.popular(this.inCategory(anchor.category))) picked.add(id, `Also in ${anchor.category}`);
        return picked.set('pick', title ?? 'Goes well with your pick');
      }
      case 'hesitation': {
        if (!anchor) return undefined;
        const similar = anchor.category ? this.inCategory(anchor.category) : (this.onShelves.get(screen.id) ?? []);
        for (const promo of this.activePromotions(at)) if (similar.includes(promo.product)) picked.add(promo.product, promo.message ?? `Instead of ${anchor.name}`);
        for (const id of this.popular(similar)) picked.add(id, `Instead of ${anchor.name}`);
        return picked.set('hesitation', title ?? 'Maybe one of these?');
      }
      case 'lingering': {
        const here = this.onShelves.get(screen.id) ?? [];
        for (const promo of this.activePromotions(at)) if (here.includes(promo.product)) picked.add(promo.product, promo.message ?? 'On offer');
        for (const id of this.popular(here)) picked.add(id, 'Popular on these shelves');
        return picked.set('lingering', title ?? 'You may like');
      }
      case 'group': {
        for (const promo of this.activePromotions(at)) picked.add(promo.product, promo.message ?? 'On offer');
        for (const id of this.popular(this.onShelves.get(screen.id) ?? [])) picked.add(id, 'Popular on these shelves');
        return picked.set('group', title ?? 'Welcome! Popular here today');
      }
    }
  }

  /** What a screen shows when no trigger is active (possibly no cards: the welcome). */
  idle(screen: ScreenConfig, cloud: ScreenContent | undefined, at: number): CardSet {
    const max = this.config.signage.maxCards;
    if (cloud) {
      const cards = new Cards(max, (id) => this.available(id));
      for (const id of cloud.products) cards.add(id, cloud.message ?? 'Today');
      const set = cards.set('cloud', cloud.title ?? 'Today');
      if (set || cloud.message) return set ? { ...set, ...(cloud.message ? { message: cloud.message } : {}) } : { trigger: 'cloud', title: cloud.title ?? 'Today', message: cloud.message!, cards: [] };
    }
    const here = new Set(this.onShelves.get(screen.id) ?? []);
    const cards = new Cards(max, (id) => this.available(id));
    const promotions = this.activePromotions(at);
    for (const promo of promotions) if (here.has(promo.product)) cards.add(promo.product, promo.message ?? 'On offer');
    for (const promo of promotions) cards.add(promo.product, promo.message ?? 'On offer');
    for (const id of this.popular(here)) cards.add(id, 'Popular on these shelves');
    return cards.set('idle', promotions.length > 0 ? 'On offer' : 'Popular here') ?? { trigger: 'idle', title: this.config.store.name, cards: [] };
  }

  private available(id: string): boolean {
    return this.products.has(id) && this.stock.inStock(id);
  }

  private inCategory(category: string): string[] {
    return this.config.planogram.products.filter((p) => p.category === category).map((p) => p.id);
  }

  private popular(ids: Iterable<string>): string[] {
    return this.model().byPopularity(ids);
  }

  private activePromotions(at: number): PromotionConfig[] {
    return this.config.planogram.promotions.filter((p) => (p.from === undefined || Date.parse(p.from) <= at) && (p.until === undefined || at < Date.parse(p.until)));
  }
}

/** Up to `max` distinct products, each available, in the order offered; the anchor never. */
class Cards {
  private readonly chosen: CardChoice[] = [];

  constructor(
    private readonly max: number,
    private readonly available: (id: string) => boolean,
    private readonly exclude?: string,
  ) {}

  add(product: string, reason: string): void {
    if (this.chosen.length >= this.max || product === this.exclude || this.chosen.some((c) => c.product === product) || !this.available(product)) return;
    this.chosen.push({ product, reason });
  }

  set(trigger: ScreenTrigger, title: string): CardSet | undefined {
    return this.chosen.length === 0 ? undefined : { trigger, title, cards: this.chosen };
  }
}
