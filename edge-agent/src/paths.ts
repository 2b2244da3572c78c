import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The package's root folder, found by walking up from this module: the same code runs from
 * `edge-agent/src` (tests) and from `dist/edge-agent/src` (the built CLI).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'edge-agent') {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('edge-agent package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function agentVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export const DEMO_CONFIG = (): string => join(packageRoot(), 'device-config', 'demo-store.json');
