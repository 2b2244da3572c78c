/**
 * A simulated store day: the seed, how many shoppers come and how hard they make the job.
 * Profiles are starting points; every knob can be set on its own.
 */
import Type from 'typebox';
import { Ajv } from 'ajv';

const Fraction = (description: string, dflt: number) => Type.Number({ minimum: 0, maximum: 1, default: dflt, description });

export const ScenarioKnobsSchema = Type.Object(
  {
    groupRate: Fraction('share of arrivals that are groups of 2–3 paying on one token', 0),
    sameShelfRate: Fraction('chance a shopper heads for a shelf where someone else is standing', 0),
    putBackRate: Fraction('chance a taken item is put back later', 0),
    misplaceRate: Fraction('share of put-backs that land on a plate the product does not belong to', 0),
    handRestRate: Fraction('chance a shopper rests a hand on the shelf for a while after a pick', 0),
    multiUnitRate: Fraction('chance a pick takes 2–3 units at once', 0.1),
    itemsMin: Type.Integer({ minimum: 0, default: 1 }),
    itemsMax: Type.Integer({ minimum: 0, default: 4 }),
    noiseMedianG: Type.Number({ minimum: 0, default: 0.85, description: 'median plate noise sigma (grams)' }),
    noiseP90G: Type.Number({ minimum: 0, default: 2.0, description: '90th percentile of plate noise sigma' }),
    noiseMaxG: Type.Number({ minimum: 0, default: 3.0, description: 'no plate is noisier than this' }),
    driftMaxGPerHour: Type.Number({ minimum: 0, default: 4, description: 'largest slow drift of a plate' }),
    dropRate: Fraction('share of sample lines lost on the wire', 0),
    corruptRate: Fraction('share of sample lines with a flipped byte', 0),
    failingPlate: Type.Optional(
      Type.Object(
        {
          plate: Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+$' }),
          atSeconds: Type.Number({ minimum: 0 }),
          mode: Type.Enum(['error', 'stuck', 'saturated'], { default: 'error', description: 'reports errors, sticks at one value, or saturates the ADC (a broken wire)' }),
        },
        { additionalProperties: false },
      ),
    ),
    carryInRate: Fraction('chance a party brings back a tagged item bought earlier, in through the exit gate, and puts it back on its shelf', 0),
    gateLingerRate: Fraction('chance a shopper lingers near the exit gate with their items before leaving or going back in', 0),
    rfidMissRate: Type.Number({ minimum: 0, maximum: 0.5, default: 0.12, description: 'long-run share of RFID reads lost in bursts (stores: 0.05–0.20)' }),
    walkSpeedMps: Type.Number({ exclusiveMinimum: 0, default: 1.0 }),
    staffWalks: Type.Integer({ minimum: 0, default: 0, description: 'members of staff walking out of the back room (the staff-only zone) to the shelves and back' }),
    lingerSeconds: Type.Tuple([Type.Number({ minimum: 0 }), Type.Number({ minimum: 0 })], { default: [3, 10] }),
    // Stock knobs carry no schema defaults: a recording's manifest echoes the knobs, and days recorded
    // before these knobs existed must stay byte for byte the same. Absent means off (see stockKnobs).
    restockWalks: Type.Optional(Type.Integer({ minimum: 0, description: 'staff restocking a low facing (a product on a plate), out of the back room with a badge tag; default 0' })),
    restockBelowUnits: Type.Optional(Type.Integer({ minimum: 0, description: 'a restock goes to a facing with this many units or fewer (else the lowest); default 2' })),
    emptyFacings: Type.Optional(Type.Integer({ minimum: 0, description: 'facings of products of at least 20 g that start the day with only 1–3 units; default 0' })),
    driftingPlate: Type.Optional(
      Type.Object(
        {
          plate: Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+$' }),
          gPerHour: Type.Number({ description: 'drift added to the plate\'s own small random drift' }),
        },
        { additionalProperties: false },
      ),
    ),
    stockTruth: Type.Optional(Type.Boolean({ description: 'write the stock truth streams (stock, restocks, stock-faults); on by itself when any stock knob is set; default false' })),
  },
  { additionalProperties: false, default: {} },
);

export const ScenarioSchema = Type.Object(
  {
    seed: Type.Integer(),
    minutes: Type.Number({ exclusiveMinimum: 0, description: 'length of the store day' }),
    shoppers: Type.Integer({ minimum: 0, description: 'shoppers arriving (a group counts each member)' }),
    profile: Type.Enum(['easy', 'busy', 'stock'], { default: 'easy' }),
    /** Store time of the first instant (ms since the epoch). */
    startAt: Type.Number({ default: Date.UTC(2026, 10, 2, 9, 0, 0) }),
    knobs: ScenarioKnobsSchema,
  },
  { additionalProperties: false },
);

export type Scenario = Type.Static<typeof ScenarioSchema>;
export type ScenarioKnobs = Type.Static<typeof ScenarioKnobsSchema>;

const BUSY: Partial<ScenarioKnobs> = {
  groupRate: 0.2,
  sameShelfRate: 0.3,
  putBackRate: 0.15,
  misplaceRate: 0.3,
  handRestRate: 0.1,
  multiUnitRate: 0.15,
  itemsMax: 5,
  noiseP90G: 3.0,
  dropRate: 0.003,
  corruptRate: 0.001,
  carryInRate: 0.08,
  gateLingerRate: 0.12,
};

/** Knob values of each profile; explicit knobs win. */
export const PROFILES: Record<Scenario['profile'], Partial<ScenarioKnobs>> = {
  easy: {},
  busy: BUSY,
  /**
   * A busy day for the shelf-stock feature: facings planted nearly empty, restocks only of facings
   * down to one unit (else the lowest) — so most planted facings run out before staff come — and a
   * creeping plate under olive oil (1 050 g units). Made for the demo store.
   */
  stock: { ...BUSY, restockWalks: 4, restockBelowUnits: 1, emptyFacings: 5, driftingPlate: { plate: '2.1.5', gPerHour: 24 } },
};

/** The stock knobs with their defaults filled in, and whether the stock truth streams are written. */
export function stockKnobs(knobs: ScenarioKnobs): { restockWalks: number; restockBelowUnits: number; emptyFacings: number; driftingPlate: ScenarioKnobs['driftingPlate']; truth: boolean } {
  const restockWalks = knobs.restockWalks ?? 0;
  const emptyFacings = knobs.emptyFacings ?? 0;
  return {
    restockWalks,
    restockBelowUnits: knobs.restockBelowUnits ?? 2,
    emptyFacings,
    driftingPlate: knobs.driftingPlate,
    truth: knobs.stockTruth === true || restockWalks > 0 || emptyFacings > 0 || knobs.driftingPlate !== undefined,
  };
}

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

/** Validates a scenario (filling defaults), then applies the profile under explicit knobs. */
export function resolveScenario(input: { seed: number; minutes: number; shoppers: number; profile?: string; startAt?: number; knobs?: Partial<ScenarioKnobs> }): Scenario {
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(ScenarioSchema);
  const explicit = { ...(input.knobs ?? {}) };
  const data = structuredClone({ ...input, knobs: {} as Record<string, unknown> }) as Record<string, unknown>;
  if (!validator(data)) {
    const errors = (validator.errors as { instancePath: string; message?: string }[]).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new Error(`invalid scenario: ${errors.join('; ')}`);
  }
  const scenario = data as Scenario;
  scenario.knobs = { ...scenario.knobs, ...PROFILES[scenario.profile], ...explicit } as ScenarioKnobs;
  if (!validator({ ...scenario })) {
    const errors = (validator.errors as { instancePath: string; message?: string }[]).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new Error(`invalid scenario knobs: ${errors.join('; ')}`);
  }
  if (scenario.knobs.itemsMax < scenario.knobs.itemsMin) throw new Error('invalid scenario knobs: itemsMax < itemsMin');
  return scenario;
}
