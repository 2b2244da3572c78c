/**
 * Staff tools for checkout, on the store database (the agent may be running): `receipts` lists
 * receipts with their lines, `review list` shows what waits for a decision with its evidence, and
 * `review decide` accepts, rejects or corrects one item — completing a receipt's review writes its
 * adjusted revision and the `receipt.adjusted` message in one transaction.
 */
import { userInfo } from 'node:os';
import { ReviewError, ReviewQueue } from '../checkout/review-queue.js';
import type { Logger } from '../log.js';
import { withStoreDatabase } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, timeRange, type CliIo } from './output.js';

export interface CheckoutCliOptions {
  config: string;
  dataDir?: string;
}

export interface ReceiptsOptions extends CheckoutCliOptions {
  /** ISO date-times; default: the last 24 hours. */
  from?: string;
  to?: string;
}

export interface ReviewDecideOptions extends CheckoutCliOptions {
  id: string;
  accept?: boolean;
  reject?: boolean;
  product?: string;
  quantity?: number;
  by?: string;
}

const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;

export async function receiptsCommand(options: ReceiptsOptions, io: CliIo, log: Logger): Promise<number> {
  const range = timeRange(options, io);
  if (typeof range === 'number') return range;
  const result = await withStoreDatabase(options, io, log, async (config, database) => new ReviewQueue(database.handle, config).receipts.between(range.from, range.to));
  if (typeof result === 'number') return result;
  for (const r of result) {
    io.err(`receipt ${r.id} (session ${r.sessionId}, ${new Date(r.closedAt).toISOString()}, ${r.status}, revision ${r.revision}): ${money(r.total, r.currency)}`);
    for (const l of r.lines) io.err(`  ${l.status.padEnd(8)} ${l.quantity} × ${l.name} @ ${money(l.unitPrice, r.currency)}  (${Math.round(l.confidence * 100)} % sure)`);
  }
  printResult(io, { ok: true, receipts: result });
  return EXIT_OK;
}

export async function reviewListCommand(options: CheckoutCliOptions & { all?: boolean }, io: CliIo, log: Logger): Promise<number> {
  const result = await withStoreDatabase(options, io, log, async (config, database) => new ReviewQueue(database.handle, config).receipts.reviewQueue({ open: !options.all }));
  if (typeof result === 'number') return result;
  for (const r of result) {
    const what = r.product ? `${r.quantity} × ${r.product}` : 'unknown product';
    const decided = r.decidedAt === null ? 'open' : `${r.decision} by ${r.decidedBy}`;
    io.err(`#${r.id} ${r.kind} ${what} on receipt ${r.receiptId ?? '–'} (${Math.round(r.confidence * 100)} % sure, ${decided}): ${r.reason}`);
  }
  printResult(io, { ok: true, items: result });
  return EXIT_OK;
}

export async function reviewDecideCommand(options: ReviewDecideOptions, io: CliIo, log: Logger): Promise<number> {
  const id = Number(options.id);
  const change = options.product !== undefined || options.quantity !== undefined;
  const chosen = [options.accept === true, options.reject === true, change].filter(Boolean).length;
  if (!Number.isInteger(id) || id <= 0 || chosen !== 1) {
    io.err('error: give a review item id and exactly one of --accept, --reject, or --product/--quantity (a correction)');
    return EXIT_BAD_INPUT;
  }
  if (options.quantity !== undefined && !(Number.isInteger(options.quantity) && options.quantity >= 0)) {
    io.err('error: --quantity takes a whole number ≥ 0');
    return EXIT_BAD_INPUT;
  }
  const by = options.by ?? userInfo().username;
  const result = await withStoreDatabase(options, io, log, async (config, database) => {
    try {
      return new ReviewQueue(database.handle, config).decide(
        id,
        { decision: options.accept ? 'accept' : options.reject ? 'reject' : 'change', ...(options.product !== undefined ? { product: options.product } : {}), ...(options.quantity !== undefined ? { quantity: options.quantity } : {}), by },
        Date.now(),
      );
    } catch (err) {
      if (err instanceof ReviewError) {
        io.err(`error: ${err.message}`);
        return EXIT_BAD_INPUT;
      }
      throw err;
    }
  });
  if (typeof result === 'number') return result;
  if (result.adjusted) io.err(`receipt ${result.adjusted.id} is now revision ${result.adjusted.revision}: ${money(result.adjusted.total, result.adjusted.currency)} (receipt.adjusted queued for the cloud)`);
  printResult(io, { ok: true, item: result.item, ...(result.adjusted ? { adjusted: result.adjusted } : {}) });
  return EXIT_OK;
}
