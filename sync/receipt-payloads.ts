/**
 * Payloads of the receipt messages the store sends the cloud, one schema each with a version
 * field; the TypeScript types are derived from them. `receipt.created` is sent once per receipt
 * when its session ends; `receipt.adjusted` once per revision after staff reviewed it (or late
 * evidence changed it). The idempotency key names the receipt and its revision.
 */
import Type from 'typebox';
import type { SummaryMessages } from './summary-payloads.js';

export const ReceiptLinePayload = Type.Object(
  {
    product: Type.String(),
    name: Type.String(),
    quantity: Type.Integer({ minimum: 1 }),
    unitPrice: Type.Integer({ minimum: 0, description: 'minor currency units' }),
    total: Type.Integer({ minimum: 0 }),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
  },
  { additionalProperties: false },
);

const ReceiptBody = {
  v: Type.Literal(1),
  idempotencyKey: Type.String(),
  storeId: Type.String(),
  receiptId: Type.Integer(),
  revision: Type.Integer({ minimum: 0 }),
  sessionId: Type.Integer(),
  token: Type.String({ description: 'the paying account token scanned at the entry gate' }),
  closedAt: Type.String({ description: 'ISO 8601 time the session ended' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  lines: Type.Array(ReceiptLinePayload),
  total: Type.Integer({ minimum: 0 }),
  /** Lines waiting for staff: not billed yet. */
  pendingReview: Type.Integer({ minimum: 0 }),
};

export const ReceiptCreatedPayload = Type.Object(ReceiptBody, { additionalProperties: false });
export const ReceiptAdjustedPayload = Type.Object(
  { ...ReceiptBody, reason: Type.String({ description: 'staff review, or exit tag evidence' }), previousTotal: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

export type ReceiptLinePayload = Type.Static<typeof ReceiptLinePayload>;
export type ReceiptCreatedPayload = Type.Static<typeof ReceiptCreatedPayload>;
export type ReceiptAdjustedPayload = Type.Static<typeof ReceiptAdjustedPayload>;

export const AlertRaisedPayload = Type.Object(
  {
    v: Type.Literal(1),
    idempotencyKey: Type.String(),
    storeId: Type.String(),
    alertId: Type.Integer(),
    kind: Type.String({ description: 'rfid-exit-unowned (a tag left with nobody), rfid-exit (the store alerts instead of billing), device-down, disk-low, sync-backlog' }),
    subject: Type.String({ description: 'what it is about: an EPC, a device id' }),
    detail: Type.Record(Type.String(), Type.Unknown()),
    at: Type.String({ description: 'ISO 8601' }),
  },
  { additionalProperties: false },
);
export type AlertRaisedPayload = Type.Static<typeof AlertRaisedPayload>;

export const AlertResolvedPayload = Type.Object(
  {
    v: Type.Literal(1),
    idempotencyKey: Type.String(),
    storeId: Type.String(),
    alertId: Type.Integer({ description: 'the id of the `alert.raised` message' }),
    kind: Type.String(),
    subject: Type.String(),
    detail: Type.Record(Type.String(), Type.Unknown()),
    at: Type.String({ description: 'ISO 8601 time the fault went away' }),
  },
  { additionalProperties: false },
);
export type AlertResolvedPayload = Type.Static<typeof AlertResolvedPayload>;

/** Message kinds in the outbox, by the payload they carry. */
export interface OutboxMessages extends SummaryMessages {
  'receipt.created': ReceiptCreatedPayload;
  'receipt.adjusted': ReceiptAdjustedPayload;
  'alert.raised': AlertRaisedPayload;
  'alert.resolved': AlertResolvedPayload;
}
