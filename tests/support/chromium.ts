/**
 * Debian's Chromium (installed by scripts/setup.sh) driven by playwright-core, which never
 * downloads a browser of its own.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const ARTIFACTS_DIR = join(import.meta.dirname, '..', 'artifacts');

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const CHROMIUM_MISSING = `needs ${CHROMIUM} (Debian package chromium; scripts/setup.sh installs it)`;

export async function launchChromium(): Promise<Browser> {
  // Tests run as root, where Chromium refuses to start with its sandbox.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** `tests/artifacts/<name>` (git-ignored), with its directory made. */
export function artifactPath(name: string): string {
  const path = join(ARTIFACTS_DIR, name);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
