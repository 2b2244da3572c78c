/**
 * The JSON API of `/carts`: open shopper sessions with their cart ledgers, the receipts of a day,
 * and the staff review queue. Decisions go through the same ReviewQueue the CLI uses, together
 * with their audit entry in one transaction, so a decision is never applied without its record.
 */
import type { Database } from 'better-sqlite3';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { LocalHours, HOUR } from '../../analytics/local-hours.js';
import { liveCart, type CartLine } from '../../checkout/cart-line.js';
import { ReviewError, ReviewQueue, type DecisionOutcome } from '../../checkout/review-queue.js';
import { CartLedgerRepository } from '../../db/repositories/cart-ledger.js';
import type { ReviewItem, StoredReceipt } from '../../db/repositories/receipts.js';
import { ShopperSessionRepository } from '../../db/repositories/shopper-sessions.js';
import { UserRepository } from '../../db/repositories/users.js';
import type { AdminContext } from '../admin-context.js';
import { tokenHint } from './token-hint.js';

const MAX_RANGE_MS = 31 * 24 * HOUR;

const ReceiptsQuery = Type.Object(
  {
    day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    from: Type.Optional(Type.String({ maxLength: 40 })),
    to: Type.Optional(Type.String({ maxLength: 40 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2 ** 31 }) }, { additionalProperties: false });
const ReviewQuery = Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const DecideBody = Type.Object(
  {
    decision: Type.Enum(['accept', 'reject', 'change']),
    product: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    quantity: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
  },
  { additionalProperties: false },
);

interface Repos {
  db: Database;
  queue: ReviewQueue;
  ledger: CartLedgerRepository;
  sessions: ShopperSessionRepository;
  users: UserRepository;
}

/** Fastify's validator drops unknown fields silently; a decision with one is refused instead. */
async function onlyKnownFields(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const known = Object.keys(DecideBody.properties);
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) return fail(reply, 400, `body/${unknown[0]} is not a field of a decision (${known.join(', ')})`);
}

const fail = (reply: FastifyReply, statusCode: number, error: string) => reply.code(statusCode).send({ statusCode, error });

/** Payment tokens are not for every viewer's eyes: enough to tell two apart. */

export function cartsApi(app: FastifyInstance, ctx: AdminContext): void {
  const products = new Map(ctx.config.planogram.products.map((p) => [p.id, p]));
  const productName = (id: string | null) => (id === null ? null : (products.get(id)?.name ?? id));
  const hours = new LocalHours(ctx.config.store.timezone);
  const cache = new WeakMap<Database, Repos>();

  const repos = (): Repos => {
    const db = ctx.database();
    if (!db?.isOpen) throw Object.assign(new Error('the store database is not open'), { statusCode: 503 });
    let r = cache.get(db.handle);
    if (!r) {
      r = { db: db.handle, queue: new ReviewQueue(db.handle, ctx.config), ledger: new CartLedgerRepository(db.handle), sessions: new ShopperSessionRepository(db.handle), users: new UserRepository(db.handle) };
      cache.set(db.handle, r);
    }
    return r;
  };

  const lineView = (l: CartLine) => ({
    id: l.id,
    product: l.product,
    name: productName(l.product),
    quantity: l.quantity,
    source: l.source,
    at: l.at,
    confidence: l.confidence,
    productProbability: l.productProbability,
    associationProbability: l.associationProbability,
    deltaGrams: l.deltaGrams,
    distanceM: l.distanceM,
    weightEventId: l.weightEventId,
    tagPassageId: l.tagPassageId,
    evidence: l.evidence,
  });

  const receiptView = (r: StoredReceipt, reviews: readonly ReviewItem[]) => ({
    id: r.id,
    sessionId: r.sessionId,
    token: tokenHint(r.token),
    currency: r.currency,
    total: r.total,
    confidence: r.confidence,
    status: r.status,
    revision: r.revision,
    closedAt: r.closedAt,
    adjustedAt: r.adjustedAt,
    pendingReview: reviews.filter((i) => i.decidedAt === null).length,
    lines: r.lines.map((l) => ({ id: l.id, product: l.product, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice, total: l.quantity * l.unitPrice, confidence: l.confidence, status: l.status })),
  });

  const fullReceipt = (r: Repos, id: number) => {
    const receipt = r.queue.receipts.get(id);
    return receipt ? receiptView(receipt, r.queue.receipts.reviewsOf(id)) : null;
  };

  /** An item with the ledger lines its evidence names, so staff see grams, distances and tags. */
  const itemView = (r: Repos, item: ReviewItem, ledgers: Map<number, CartLine[]>) => {
    const ids = new Set<number>();
    const ev = item.evidence as { cartLines?: unknown; cartLine?: unknown };
    if (Array.isArray(ev.cartLines)) for (const id of ev.cartLines) if (typeof id === 'number') ids.add(id);
    if (typeof ev.cartLine === 'number') ids.add(ev.cartLine);
    let lines: CartLine[] = [];
    if (item.sessionId !== null && ids.size > 0) {
      let ledger = ledgers.get(item.sessionId);
      if (!ledger) ledgers.set(item.sessionId, (ledger = r.ledger.lines(item.sessionId)));
      lines = ledger.filter((l) => ids.has(l.id));
    }
    const receipt = item.receiptId !== null ? r.queue.receipts.get(item.receiptId) : undefined;
    return {
      ...item,
      productName: productName(item.product),
      decidedProductName: productName(item.decidedProduct),
      cartLines: lines.map(lineView),
      receipt: receipt ? { id: receipt.id, revision: receipt.revision, total: receipt.total, currency: receipt.currency, status: receipt.status, token: tokenHint(receipt.token) } : null,
    };
  };

  /** The store's wall-clock day `day` (YYYY-MM-DD), or today's, as a UTC millisecond range. */
  const storeDay = (day: string | undefined): { day: string; from: number; to: number } | undefined => {
    const d = day ?? hours.label(hours.startOf(ctx.clock())).slice(0, 10);
    const range = hours.dayRange(d);
    return range ? { day: d, ...range } : undefined;
  };

  app.get('/api/carts', { config: { role: 'viewer' } }, async (_request, reply) => {
    const r = repos();
    reply.header('cache-control', 'no-store');
    const carts = r.sessions.openSessions().map((s) => {
      const lines = r.ledger.lines(s.id).filter((l) => l.quantity !== 0 || l.source === 'rfid');
      const items = [...liveCart(lines)].map(([product, quantity]) => {
        const behind = lines.filter((l) => l.product === product);
        const price = products.get(product)?.price ?? 0;
        return { product, name: productName(product), quantity, unitPrice: price, total: Math.max(0, quantity) * price, confidence: Math.min(...behind.map((l) => l.confidence)) };
      });
      return {
        session: { id: s.id, token: tokenHint(s.token), gate: s.gate, startedAt: s.startedAt, members: s.members.map((m) => ({ track: m.track, joinedAt: m.joinedAt, how: m.how, leftAt: m.leftAt })) },
        items,
        total: items.reduce((sum, i) => sum + i.total, 0),
        lines: lines.map(lineView),
      };
    });
    return { at: ctx.clock(), currency: ctx.config.store.currency, carts };
  });

  app.get('/api/receipts', { config: { role: 'viewer' }, schema: { querystring: ReceiptsQuery } }, async (request, reply) => {
    const q = request.query as Type.Static<typeof ReceiptsQuery>;
    let range: { day: string | null; from: number; to: number };
    if (q.from !== undefined || q.to !== undefined) {
      if (q.day !== undefined) return fail(reply, 400, 'give either day or from/to, not both');
      const to = q.to !== undefined ? Date.parse(q.to) : ctx.clock();
      const from = q.from !== undefined ? Date.parse(q.from) : to - 24 * HOUR;
      if (!Number.isFinite(from) || !Number.isFinite(to)) return fail(reply, 400, 'from and to take ISO date-times (2026-11-02T09:00:00Z)');
      if (from >= to) return fail(reply, 400, 'from must be before to');
      if (to - from > MAX_RANGE_MS) return fail(reply, 400, 'a range of at most 31 days');
      range = { day: null, from, to };
    } else {
      const day = storeDay(q.day);
      if (!day) return fail(reply, 400, `${q.day} is not a date`);
      range = day;
    }
    const r = repos();
    reply.header('cache-control', 'no-store');
    const receipts = r.queue.receipts.between(range.from, range.to).map((x) => receiptView(x, r.queue.receipts.reviewsOf(x.id)));
    return {
      day: range.day,
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
      timezone: ctx.config.store.timezone,
      currency: ctx.config.store.currency,
      receipts,
      total: receipts.reduce((s, x) => s + x.total, 0),
    };
  });

  app.get('/api/receipts/:id', { config: { role: 'viewer' }, schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Type.Static<typeof IdParams>;
    const r = repos();
    const receipt = fullReceipt(r, id);
    if (!receipt) return fail(reply, 404, `no receipt ${id}`);
    const ledgers = new Map<number, CartLine[]>();
    reply.header('cache-control', 'no-store');
    return { receipt, review: r.queue.receipts.reviewsOf(id).map((i) => itemView(r, i, ledgers)) };
  });

  app.get('/api/review', { config: { role: 'viewer' }, schema: { querystring: ReviewQuery } }, async (request, reply) => {
    const { all } = request.query as Type.Static<typeof ReviewQuery>;
    const r = repos();
    const ledgers = new Map<number, CartLine[]>();
    reply.header('cache-control', 'no-store');
    return {
      currency: ctx.config.store.currency,
      items: r.queue.receipts.reviewQueue({ open: all !== true }).map((i) => itemView(r, i, ledgers)),
      products: ctx.config.planogram.products.map((p) => ({ id: p.id, name: p.name, price: p.price })),
    };
  });

  app.post('/api/review/:id', { config: { role: 'staff' }, preValidation: onlyKnownFields, schema: { params: IdParams, body: DecideBody } }, async (request, reply) => {
    const { id } = request.params as Type.Static<typeof IdParams>;
    const body = request.body as Type.Static<typeof DecideBody>;
    if (body.decision !== 'change' && (body.product !== undefined || body.quantity !== undefined)) return fail(reply, 400, `product and quantity go with the decision "change", not "${body.decision}"`);
    if (body.decision === 'change' && body.product === undefined && body.quantity === undefined) return fail(reply, 400, 'a change needs a product, a quantity or both');
    const r = repos();
    const by = request.user!.username;
    const at = ctx.clock();
    if (!r.queue.receipts.reviewItem(id)) return fail(reply, 404, `no review item ${id}`);
    let outcome: DecisionOutcome;
    try {
      outcome = decideAudited(r, id, body, by, at);
    } catch (err) {
      if (!(err instanceof ReviewError)) throw err;
      const item = r.queue.receipts.reviewItem(id);
      return fail(reply, !item ? 404 : item.decidedAt !== null ? 409 : 400, err.message);
    }
    const ledgers = new Map<number, CartLine[]>();
    // Read again: completing the review stamped the item with the revision that took it in.
    const item = r.queue.receipts.reviewItem(id) ?? outcome.item;
    return {
      item: itemView(r, item, ledgers),
      receipt: outcome.item.receiptId !== null ? fullReceipt(r, outcome.item.receiptId) : null,
      adjusted: outcome.adjusted ? receiptView(outcome.adjusted, r.queue.receipts.reviewsOf(outcome.adjusted.id)) : null,
    };
  });

  function decideAudited(r: Repos, id: number, body: Type.Static<typeof DecideBody>, by: string, at: number): DecisionOutcome {
    return r.db.transaction(() => {
      const outcome = r.queue.decide(id, { decision: body.decision, ...(body.product !== undefined ? { product: body.product } : {}), ...(body.quantity !== undefined ? { quantity: body.quantity } : {}), by }, at);
      r.users.audit(by, 'review.decide', `review-item:${id}`, {
        item: id,
        decision: body.decision,
        product: outcome.item.decidedProduct,
        quantity: outcome.item.decidedQuantity,
        receipt: outcome.item.receiptId,
        ...(outcome.adjusted ? { revision: outcome.adjusted.revision, total: outcome.adjusted.total } : {}),
      }, at);
      return outcome;
    })();
  }
}
