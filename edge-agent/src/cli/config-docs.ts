import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configJsonSchema, configReferenceMarkdown } from '../../../device-config/reference.js';
import { packageRoot } from '../paths.js';
import { topicsMarkdown } from '../../../sync/topics.js';
import { EXIT_FAILURE, EXIT_OK, printResult, type CliIo } from './output.js';

/** `edge-agent config-docs [--check]`: writes (or checks) the files generated from the schemas (configuration, MQTT topics). */
export async function configDocs(check: boolean, io: CliIo): Promise<number> {
  const files = [
    { path: join(packageRoot(), 'device-config', 'store.schema.json'), content: configJsonSchema() },
    { path: join(packageRoot(), 'device-config', 'REFERENCE.md'), content: configReferenceMarkdown() },
    { path: join(packageRoot(), 'sync', 'TOPICS.md'), content: topicsMarkdown() },
  ];
  const stale: string[] = [];
  for (const f of files) {
    const current = await readFile(f.path, 'utf8').catch(() => '');
    if (current === f.content) continue;
    stale.push(f.path);
    if (!check) await writeFile(f.path, f.content);
  }
  if (check && stale.length > 0) {
    for (const s of stale) io.err(`out of date: ${s} (run edge-agent config-docs)`);
    printResult(io, { ok: false, stale });
    return EXIT_FAILURE;
  }
  printResult(io, { ok: true, written: check ? [] : stale });
  return EXIT_OK;
}
