import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `../shared` next to the project: real data and models, present in CI, absent on users' machines. */
export const SHARED_DIR = join(import.meta.dirname, '..', '..', '..', 'shared');

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** A reason to skip, or undefined when every named file under ../shared exists. */
export function missingShared(...relative: string[]): string | undefined {
  const absent = relative.filter((r) => !existsSync(sharedPath(r)));
  return absent.length === 0 ? undefined : `needs ../shared (${absent.join(', ')} not found); CI provides it`;
}
