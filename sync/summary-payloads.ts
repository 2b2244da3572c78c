/**
 * Payloads of the hourly summaries a store sends the cloud, one per kind and closed hour of the
 * store's wall clock. A summary is sent again, with the next `revision`, when its hour's facts
 * change afterwards (a late visit, a track marked as staff); the cloud keeps the highest revision.
 * The idempotency key names the store, kind, hour and revision.
 */
import Type from 'typebox';

const HourBody = {
  v: Type.Literal(1),
  idempotencyKey: Type.String(),
  storeId: Type.String(),
  hourStart: Type.String({ description: 'ISO 8601 start of the local hour' }),
  hourEnd: Type.String({ description: 'ISO 8601 end of the local hour (exclusive)' }),
  hourLabel: Type.String({ description: 'the hour on the store\'s wall clock, e.g. "2026-11-02 10:00"' }),
  revision: Type.Integer({ minimum: 0 }),
};

export const FootfallSummaryPayload = Type.Object(
  {
    ...HourBody,
    gateEntries: Type.Integer({ minimum: 0 }),
    gateExits: Type.Integer({ minimum: 0 }),
    visitsStarted: Type.Integer({ minimum: 0, description: 'shoppers seen entering the floor (staff excluded)' }),
    visitsEnded: Type.Integer({ minimum: 0 }),
    visitsWithPick: Type.Integer({ minimum: 0 }),
    visitSeconds: Type.Number({ minimum: 0 }),
    peakOccupancy: Type.Integer({ minimum: 0 }),
    durationBuckets: Type.Object(
      {
        upToMinutes: Type.Array(Type.Number(), { description: 'upper bounds of the buckets; the last bucket is open' }),
        counts: Type.Array(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    receipts: Type.Integer({ minimum: 0, description: 'receipts closed in the hour' }),
    revenue: Type.Integer({ minimum: 0, description: 'their totals, minor currency units' }),
  },
  { additionalProperties: false },
);

export const DwellSummaryPayload = Type.Object(
  {
    ...HourBody,
    zones: Type.Array(
      Type.Object(
        {
          zone: Type.String(),
          visits: Type.Integer({ minimum: 0 }),
          dwellSeconds: Type.Number({ minimum: 0 }),
          medianSeconds: Type.Number({ minimum: 0 }),
          maxSeconds: Type.Number({ minimum: 0 }),
          withPick: Type.Integer({ minimum: 0 }),
          lingered: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const HeatmapSummaryPayload = Type.Object(
  {
    ...HourBody,
    cellM: Type.Number({ exclusiveMinimum: 0, description: 'side of a square cell, metres' }),
    cols: Type.Integer({ minimum: 1 }),
    rows: Type.Integer({ minimum: 1 }),
    cells: Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Number({ minimum: 0 })]), {
      description: 'shopper-seconds per cell as [cell, seconds], cells with time only; cell = row * cols + col, x grows with col, y with row, from the floor origin',
    }),
    totalSeconds: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const ExposureSummaryPayload = Type.Object(
  {
    ...HourBody,
    screens: Type.Array(
      Type.Object(
        {
          screen: Type.String(),
          shown: Type.Integer({ minimum: 0, description: 'cards shown' }),
          byTrigger: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'cards shown per trigger (lingering, hesitation, pick, group, idle, cloud)' }),
          attributedPicks: Type.Integer({ minimum: 0, description: 'picks of a shown product by a shopper in the screen zone within the attribution window' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const StockSummaryPayload = Type.Object(
  {
    ...HourBody,
    products: Type.Array(
      Type.Object(
        {
          product: Type.String(),
          unitsOnShelf: Type.Integer({ minimum: 0, description: 'units on its facings at the end of the hour' }),
          sold: Type.Integer({ minimum: 0, description: 'units taken by shoppers' }),
          putBack: Type.Integer({ minimum: 0, description: 'units shoppers put back' }),
          velocity: Type.Integer({ description: 'sold minus put back: the sales velocity of the hour' }),
          restocked: Type.Integer({ description: 'units staff put on the shelf' }),
          corrected: Type.Integer({ description: 'units the settled shelf weight corrected the count by' }),
          outOfStockSeconds: Type.Array(Type.Object({ plate: Type.String(), seconds: Type.Number({ minimum: 0 }) }, { additionalProperties: false }), {
            description: 'time each facing of the product was empty within the hour',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type FootfallSummaryPayload = Type.Static<typeof FootfallSummaryPayload>;
export type DwellSummaryPayload = Type.Static<typeof DwellSummaryPayload>;
export type HeatmapSummaryPayload = Type.Static<typeof HeatmapSummaryPayload>;
export type ExposureSummaryPayload = Type.Static<typeof ExposureSummaryPayload>;
export type StockSummaryPayload = Type.Static<typeof StockSummaryPayload>;

export interface SummaryMessages {
  'summary.footfall': FootfallSummaryPayload;
  'summary.dwell': DwellSummaryPayload;
  'summary.heatmap': HeatmapSummaryPayload;
  'summary.exposures': ExposureSummaryPayload;
  'summary.stock': StockSummaryPayload;
}
