/**
 * The MQTT topic contract between a store and the cloud, listed once: every topic under
 * `<prefix>/<storeId>/…` with its direction, QoS, whether it is retained, and the JSON Schema of
 * its payload (each with a `v` field). The publisher, the tools and the generated TOPICS.md all
 * read this table; nothing else spells a topic.
 */
import Type, { type TSchema } from 'typebox';
import { AlertRaisedPayload, AlertResolvedPayload, ReceiptAdjustedPayload, ReceiptCreatedPayload } from './receipt-payloads.js';
import { COMMANDS, type CommandSpec } from './commands.js';
import { DwellSummaryPayload, ExposureSummaryPayload, FootfallSummaryPayload, HeatmapSummaryPayload, StockSummaryPayload } from './summary-payloads.js';

export const AgentStatePayload = Type.Object(
  {
    v: Type.Literal(1),
    state: Type.Enum(['online', 'offline']),
    at: Type.String({ description: 'ISO 8601; for the last will, when the connection was opened' }),
    reason: Type.Optional(Type.String({ description: 'why offline: a clean stop, or the connection lost (the last will)' })),
    version: Type.Optional(Type.String({ description: 'agent version' })),
  },
  { additionalProperties: false },
);

export const DeviceAvailabilityPayload = Type.Object(
  {
    v: Type.Literal(1),
    device: Type.String(),
    kind: Type.String({ description: 'camera, shelf, rfid, gate' }),
    online: Type.Boolean(),
    reason: Type.Optional(Type.String()),
    at: Type.String({ description: 'ISO 8601 time of the change' }),
  },
  { additionalProperties: false },
);

export const CommandRequestPayload = Type.Object(
  {
    v: Type.Literal(1),
    transaction: Type.String({ minLength: 1, maxLength: 128, description: "the caller's id, echoed in the response" }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const CommandResponsePayload = Type.Object(
  {
    v: Type.Literal(1),
    transaction: Type.String(),
    ok: Type.Boolean(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export type CommandRequestPayload = Type.Static<typeof CommandRequestPayload>;
export type CommandResponsePayload = Type.Static<typeof CommandResponsePayload>;
export type AgentStatePayload = Type.Static<typeof AgentStatePayload>;
export type DeviceAvailabilityPayload = Type.Static<typeof DeviceAvailabilityPayload>;

export interface TopicSpec {
  /** Relative to `<prefix>/<storeId>/`; `{name}` marks a parameter. */
  pattern: string;
  direction: 'store → cloud' | 'cloud → store';
  qos: 0 | 1;
  retained: boolean;
  /** Sent through the outbox (written with the fact it describes) or directly. */
  via: 'outbox' | 'direct';
  schema: TSchema;
  description: string;
}

export const TOPICS = {
  'agent.state': {
    pattern: 'agent/state',
    direction: 'store → cloud',
    qos: 1,
    retained: true,
    via: 'direct',
    schema: AgentStatePayload,
    description: '`online` on every connect, `offline` on a clean stop; the broker publishes the last will `offline` when the connection is lost',
  },
  'device.availability': {
    pattern: 'devices/{device}/availability',
    direction: 'store → cloud',
    qos: 1,
    retained: true,
    via: 'direct',
    schema: DeviceAvailabilityPayload,
    description: 'a device (camera, shelf controller, RFID reader, gate) going online or offline, only on change',
  },
  'receipt.created': {
    pattern: 'receipts/created',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: ReceiptCreatedPayload,
    description: "a shopper session's receipt, once, when the session ends (billed lines only; `pendingReview` lines wait for staff)",
  },
  'receipt.adjusted': {
    pattern: 'receipts/adjusted',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: ReceiptAdjustedPayload,
    description: 'a new revision of a receipt after staff review or exit-tag evidence, once per revision',
  },
  'alert.raised': {
    pattern: 'alerts',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: AlertRaisedPayload,
    description: 'an alert for staff, once when it is raised: a tagged item leaving with nobody, a device down, the disk nearly full, the outbox backlog growing',
  },
  'alert.resolved': {
    pattern: 'alerts/resolved',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: AlertResolvedPayload,
    description: 'an alert whose fault went away (the device is back, space was freed), once',
  },
  'summary.footfall': {
    pattern: 'summaries/footfall',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: FootfallSummaryPayload,
    description: 'footfall of a closed local hour: gate passes, visits, visit lengths, peak occupancy, receipts; again with the next `revision` when the hour changes later',
  },
  'summary.dwell': {
    pattern: 'summaries/dwell',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: DwellSummaryPayload,
    description: 'dwell per zone of a closed local hour (visits, seconds, median, picks, lingering)',
  },
  'summary.heatmap': {
    pattern: 'summaries/heatmap',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: HeatmapSummaryPayload,
    description: 'shopper-seconds per floor cell of a closed local hour (sparse grid)',
  },
  'summary.exposures': {
    pattern: 'summaries/exposures',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: ExposureSummaryPayload,
    description: 'shelf-screen cards shown per screen and trigger in a closed local hour, and the picks attributed to them',
  },
  'summary.stock': {
    pattern: 'summaries/stock',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'outbox',
    schema: StockSummaryPayload,
    description: 'per product of a closed local hour: units on the shelf at its end, sold, put back, sales velocity, restocked, corrected by weight, and time out of stock per facing — the inputs of demand forecasting and replenishment',
  },
  'command.request': {
    pattern: 'request/{command}',
    direction: 'cloud → store',
    qos: 1,
    retained: false,
    via: 'direct',
    schema: CommandRequestPayload,
    description: 'a command for the store (see Commands below); answered on `response/{command}` with the same `transaction` (and on an MQTT 5 response topic with its correlation data when one is given)',
  },
  'command.response': {
    pattern: 'response/{command}',
    direction: 'store → cloud',
    qos: 1,
    retained: false,
    via: 'direct',
    schema: CommandResponsePayload,
    description: 'the answer to a command: `ok` with a `result`, or an `error`',
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof TOPICS;

/** The full topic of a key for a store, with its parameters filled in. */
export function topicOf(prefix: string, storeId: string, key: TopicKey, params: Record<string, string> = {}): string {
  const relative = TOPICS[key].pattern.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`topic ${key} needs ${name}`);
    return value.replace(/[+#/]/g, '_');
  });
  return `${prefix}/${storeId}/${relative}`;
}

/** TOPICS.md: the contract as a page, generated from the table above. */
export function topicsMarkdown(): string {
  const lines = [
    '# MQTT topics',
    '',
    'Generated from `sync/topics.ts` (`edge-agent config-docs`); do not edit by hand. Every topic is',
    "under `<mqtt.topicPrefix>/<store.id>/`; every payload is JSON with a version field `v`.",
    '',
    '| topic | direction | QoS | retained | sent | what |',
    '|---|---|---|---|---|---|',
  ];
  for (const spec of Object.values(TOPICS) as TopicSpec[]) {
    lines.push(`| \`${spec.pattern}\` | ${spec.direction} | ${spec.qos} | ${spec.retained ? 'yes' : 'no'} | ${spec.via} | ${spec.description} |`);
  }
  lines.push('', '## Commands', '', 'Sent on `request/<command>` as `{"v":1,"transaction":"…","args":{…}}`.', '', '| command | what |', '|---|---|');
  for (const [name, spec] of Object.entries(COMMANDS) as [string, CommandSpec][]) lines.push(`| \`${name}\` | ${spec.description} |`);
  lines.push('', '## Payloads', '');
  for (const [key, spec] of Object.entries(TOPICS) as [string, TopicSpec][]) {
    lines.push(`### \`${spec.pattern}\` (${key})`, '', '```json', JSON.stringify(spec.schema, null, 2), '```', '');
  }
  lines.push('## Command arguments', '');
  for (const [name, spec] of Object.entries(COMMANDS) as [string, CommandSpec][]) {
    lines.push(`### \`${name}\``, '', '```json', JSON.stringify(spec.args, null, 2), '```', '');
  }
  return lines.join('\n');
}
