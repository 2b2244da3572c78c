/**
 * The manifest of a recorded session (`manifest.json`): which store, which time span, and where
 * each device's data lives in the folder. Written by `edge-agent sim` and `edge-agent record`,
 * read by `edge-agent replay`. See ./README.md.
 */
import Type from 'typebox';
import { Ajv } from 'ajv';

export const RECORDING_FORMAT = 'edge-agent-recording';
export const RECORDING_VERSION = 1;

const RelativePath = Type.String({ minLength: 1, pattern: '^(?!/)(?!.*\\.\\./).+$', description: 'path inside the recording folder' });

export const RecordingManifestSchema = Type.Object(
  {
    format: Type.Literal(RECORDING_FORMAT),
    version: Type.Integer({ minimum: 1 }),
    createdBy: Type.String(),
    /** Wall-clock creation time; absent for simulated recordings, which must be reproducible to the byte. */
    createdAt: Type.Optional(Type.String()),
    /** The store configuration the session was recorded with. */
    store: RelativePath,
    startedAt: Type.Number({ description: 'store time of the first instant, ms since the epoch' }),
    endedAt: Type.Union([Type.Number(), Type.Null()], { description: 'null while recording or when the recorder died' }),
    scenario: Type.Optional(Type.Unknown()),
    serial: Type.Array(
      Type.Object(
        {
          device: Type.String({ description: 'agent device id, e.g. shelf-1.2 or a gate id' }),
          kind: Type.Enum(['scale', 'rfid', 'gate']),
          url: Type.String({ description: 'the device URL in the store configuration this capture stands for' }),
          file: RelativePath,
        },
        { additionalProperties: false },
      ),
    ),
    video: Type.Array(
      Type.Object(
        {
          camera: Type.String(),
          file: RelativePath,
          frames: RelativePath,
          width: Type.Integer({ minimum: 1 }),
          height: Type.Integer({ minimum: 1 }),
          fps: Type.Number({ exclusiveMinimum: 0 }),
        },
        { additionalProperties: false },
      ),
    ),
    calibration: Type.Object(
      {
        scales: Type.Optional(RelativePath),
        cameras: Type.Record(Type.String(), RelativePath),
      },
      { additionalProperties: false },
    ),
    truth: Type.Record(Type.String(), RelativePath),
  },
  { additionalProperties: false },
);

export type RecordingManifest = Type.Static<typeof RecordingManifestSchema>;

let validator: ReturnType<Ajv['compile']> | undefined;

/** Problems with a parsed manifest as `path: message` lines; empty when it is valid. */
export function manifestProblems(data: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(RecordingManifestSchema);
  if (validator(data)) {
    const version = (data as RecordingManifest).version;
    return version > RECORDING_VERSION ? [`/version: recording format ${version} is newer than this agent reads (${RECORDING_VERSION})`] : [];
  }
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
