/**
 * One error type for the whole agent. Codes are grouped by area (the prefix) so that
 * logs, health output and exit codes can be decided from the code alone.
 */
export const ErrorCode = {
  // configuration: the operator must fix a file or the environment (exit code 2)
  ConfigNotFound: 'CONFIG_NOT_FOUND',
  ConfigUnreadable: 'CONFIG_UNREADABLE',
  ConfigInvalidJson: 'CONFIG_INVALID_JSON',
  ConfigInvalid: 'CONFIG_INVALID',
  ConfigTooNew: 'CONFIG_TOO_NEW',
  // database
  DbOpenFailed: 'DB_OPEN_FAILED',
  DbMigrationFailed: 'DB_MIGRATION_FAILED',
  DbSchemaTooNew: 'DB_SCHEMA_TOO_NEW',
  DbNotOpen: 'DB_NOT_OPEN',
  // lifecycle
  LifecycleUnknownDependency: 'LIFECYCLE_UNKNOWN_DEPENDENCY',
  LifecycleDependencyCycle: 'LIFECYCLE_DEPENDENCY_CYCLE',
  LifecycleDuplicateComponent: 'LIFECYCLE_DUPLICATE_COMPONENT',
  LifecycleStartFailed: 'LIFECYCLE_START_FAILED',
  LifecycleStopTimeout: 'LIFECYCLE_STOP_TIMEOUT',
  // admin server
  AdminListenFailed: 'ADMIN_LISTEN_FAILED',
  // vision: models and camera calibrations the operator must fix (exit code 2)
  VisionModelNotFound: 'VISION_MODEL_NOT_FOUND',
  VisionManifestInvalid: 'VISION_MANIFEST_INVALID',
  VisionModelMismatch: 'VISION_MODEL_MISMATCH',
  VisionCalibrationInvalid: 'VISION_CALIBRATION_INVALID',
  VisionImageUnreadable: 'VISION_IMAGE_UNREADABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorArea = 'config' | 'db' | 'lifecycle' | 'admin' | 'vision';

export class EdgeError extends Error {
  override readonly name = 'EdgeError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  get area(): ErrorArea {
    return areaOf(this.code);
  }
}

export function areaOf(code: ErrorCode): ErrorArea {
  const prefix = code.slice(0, code.indexOf('_')).toLowerCase();
  return prefix as ErrorArea;
}

export function isEdgeError(value: unknown, code?: ErrorCode): value is EdgeError {
  return value instanceof EdgeError && (code === undefined || value.code === code);
}

export function isConfigError(value: unknown): value is EdgeError {
  return isEdgeError(value) && value.area === 'config';
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(value: unknown): string {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? `: ${value.cause.message}` : '';
    return `${value.message}${cause}`;
  }
  return String(value);
}
