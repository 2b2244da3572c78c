/**
 * Validation of a parsed store configuration: version migration, the JSON Schema (every error,
 * with its JSON path) and the cross-references a schema cannot express (a planogram plate that
 * does not exist, a zone nobody defined, a GTIN with a wrong check digit).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { closest as closestMatch, distance } from 'fastest-levenshtein';
import { CONFIG_MIGRATIONS, migrateConfig, type ConfigMigration } from './migrations.js';
import { StoreConfigSchema, type StoreConfig } from './schema.js';
import { crossReferenceIssues } from './cross-references.js';

export interface ConfigIssue {
  /** JSON Pointer into the file, e.g. `/gondolas/1/shelves/0/plates/2/widthM`. */
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; config: StoreConfig; warnings: ConfigIssue[]; migrated: string[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[]; tooNew: boolean };

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true }).compile(StoreConfigSchema);
  return compiled;
}

export function validateConfig(raw: unknown, migrations: readonly ConfigMigration[] = CONFIG_MIGRATIONS): ValidationResult {
  const migration = migrateConfig(raw, migrations);
  if (migration.problem) {
    return { ok: false, errors: [{ path: migration.problem.path, message: migration.problem.message }], warnings: [], tooNew: !!migration.problem.tooNew };
  }
  const data = migration.raw;
  const validate = schemaValidator();
  const schemaOk = validate(data);
  const errors = schemaOk ? [] : (validate.errors ?? []).map(describeSchemaError);
  const cross = crossReferenceIssues(data);
  errors.push(...cross.errors);
  if (errors.length > 0) return { ok: false, errors: dedupe(errors), warnings: cross.warnings, tooNew: false };
  return { ok: true, config: data as StoreConfig, warnings: cross.warnings, migrated: migration.applied };
}

const SECRET_KEYS = /^(password|passwd|secret|token|apiKey|api_key|username|user|key)$/i;

function describeSchemaError(e: ErrorObject): ConfigIssue {
  const at = e.instancePath;
  switch (e.keyword) {
    case 'required':
      return { path: `${at}/${escapePointer(String(e.params['missingProperty']))}`, message: 'required' };
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      if (SECRET_KEYS.test(key)) {
        const envKey = known.find((k) => k.endsWith('Env'));
        const hint = envKey ? `; name an environment variable in "${envKey}" instead` : '';
        return { path: `${at}/${escapePointer(key)}`, message: `secrets are not allowed in the file${hint}` };
      }
      const near = closest(key, known);
      return { path: `${at}/${escapePointer(key)}`, message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}` };
    }
    case 'enum': {
      const allowed = (e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { path: at, message: `must be one of ${allowed}` };
    }
    case 'pattern': {
      const description = (e.parentSchema as { description?: string } | undefined)?.description;
      return { path: at, message: `${JSON.stringify(e.data)} is not valid${description ? `: expected ${description}` : ` (pattern ${String(e.params['pattern'])})`}` };
    }
    default:
      return { path: at, message: e.message ?? e.keyword };
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The known key within edit distance 2 of a mistyped one, for "did you mean". */
function closest(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const near = closestMatch(key.toLowerCase(), known.map((k) => k.toLowerCase()));
  const found = known.find((k) => k.toLowerCase() === near);
  return found !== undefined && distance(key.toLowerCase(), found.toLowerCase()) <= 2 ? found : undefined;
}
