/**
 * The commands the cloud may send a store (`request/<name>`, answered on `response/<name>`), each
 * with the JSON Schema of its `args`. The publisher, the handlers and TOPICS.md read this table.
 */
import Type, { type TSchema } from 'typebox';
import { Product } from '../device-config/schema.js';

const Empty = Type.Object({}, { additionalProperties: false });

export const UpdatePricesArgs = Type.Object(
  {
    prices: Type.Record(Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 }), { description: 'unit price in minor currency units by product id' }),
  },
  { additionalProperties: false },
);

export const UpdatePlanogramArgs = Type.Object(
  {
    products: Type.Array(Product, { maxItems: 5000, description: 'the whole planogram, as in the configuration file' }),
  },
  { additionalProperties: false },
);

export const AddGalleryImagesArgs = Type.Object(
  {
    product: Type.String({ minLength: 1 }),
    images: Type.Array(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 200, description: 'recorded as the source of the reference' })),
          data: Type.String({ minLength: 4, maxLength: 8_000_000, description: 'base64 of a JPEG or PNG photo of the product' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 16 },
    ),
  },
  { additionalProperties: false },
);

export const SetScreenContentArgs = Type.Object(
  {
    screen: Type.String({ minLength: 1 }),
    products: Type.Array(Type.String({ minLength: 1 }), { maxItems: 12, description: 'product ids to show; empty clears the content' }),
    title: Type.Optional(Type.String({ maxLength: 80 })),
    message: Type.Optional(Type.String({ maxLength: 280 })),
    minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 44640, description: 'how long it holds (absent: until replaced)' })),
  },
  { additionalProperties: false },
);

export type UpdatePricesArgs = Type.Static<typeof UpdatePricesArgs>;
export type UpdatePlanogramArgs = Type.Static<typeof UpdatePlanogramArgs>;
export type AddGalleryImagesArgs = Type.Static<typeof AddGalleryImagesArgs>;
export type SetScreenContentArgs = Type.Static<typeof SetScreenContentArgs>;

export interface CommandSpec {
  args: TSchema;
  description: string;
}

export const COMMANDS = {
  ping: { args: Empty, description: '`{pong, at, version}`: the store is reachable' },
  health: { args: Empty, description: "the agent's health report (every component, as on `/healthz`)" },
  'reload-config': {
    args: Empty,
    description: 'reads the configuration file (and the cloud\'s planogram and prices) again, validates it and restarts the agent\'s components with it; answers `{changed}` before restarting, or an error naming each JSON path when the file is bad (nothing restarts)',
  },
  'update-prices': {
    args: UpdatePricesArgs,
    description: 'new unit prices for products of the planogram; validated with the whole configuration, kept in `<dataDir>/cloud-config.json`, then applied by a reload. Receipts already closed keep their prices',
  },
  'update-planogram': {
    args: UpdatePlanogramArgs,
    description: "replaces the planogram (products, their plates, weights and prices); validated with the whole configuration (plates must exist), kept in `<dataDir>/cloud-config.json` over the file's, then applied by a reload",
  },
  'add-gallery-images': {
    args: AddGalleryImagesArgs,
    description: 'reference photos of a product for recognition: embedded with the store\'s model and added to the gallery at once; answers `{added, galleryReferences}`',
  },
  'set-screen-content': {
    args: SetScreenContentArgs,
    description: 'content for a shelf screen (products, title, message) shown when no shopper trigger is active, until it expires or is replaced',
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
