import Type from 'typebox';

const ComponentReport = Type.Object(
  {
    status: Type.Enum(['up', 'degraded', 'down']),
    state: Type.Enum(['stopped', 'starting', 'running', 'stopping', 'failed']),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** What `/healthz` answers: the agent's overall state and every component's own report. */
export const HealthReportSchema = Type.Object({
  status: Type.Enum(['ok', 'degraded', 'down']),
  storeId: Type.String(),
  version: Type.String(),
  runId: Type.Union([Type.Integer(), Type.Null()]),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  uptimeSeconds: Type.Number(),
  previousRunStoppedCleanly: Type.Union([Type.Boolean(), Type.Null()]),
  busListenerFailures: Type.Integer(),
  components: Type.Record(Type.String(), ComponentReport),
});

export type HealthReport = Type.Static<typeof HealthReportSchema>;

/** 'down' when the database or any component is down; 'degraded' when one reports trouble. */
export function overallStatus(components: HealthReport['components']): HealthReport['status'] {
  const statuses = Object.values(components).map((c) => c.status);
  if (statuses.includes('down')) return 'down';
  if (statuses.includes('degraded')) return 'degraded';
  return 'ok';
}
