/**
 * What the store does for each command from the cloud (the contract is `commands.ts`): arguments
 * are checked against the command's schema first, so a bad request changes nothing and its
 * answer names the offending path.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { StoreConfig } from '../device-config/schema.js';
import type { EventBus } from '../edge-agent/src/bus.js';
import { readCloudOverlay, type CloudOverlay } from '../edge-agent/src/config/cloud-overlay.js';
import type { StoreDatabase } from '../edge-agent/src/db/database.js';
import { ScreenContentRepository } from '../edge-agent/src/db/repositories/screen-content.js';
import type { FramePixels } from '../edge-agent/src/vision/detect/input-packer.js';
import { decodeImage } from '../edge-agent/src/vision/image-file.js';
import { COMMANDS, type AddGalleryImagesArgs, type CommandName, type SetScreenContentArgs, type UpdatePlanogramArgs, type UpdatePricesArgs } from './commands.js';
import type { CommandHandler } from './outbox-publisher.js';

/** Reloading the configuration; the agent's runner provides it (a bare agent cannot restart itself). */
export type ReloadConfig = (overlay?: CloudOverlay) => Promise<{ changed: string[] }>;

export interface StoreCommandDeps {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  clock: () => number;
  health: () => unknown;
  recognition: { addReferences(product: string, pictures: readonly { source: string; frame: FramePixels }[], by: string): Promise<unknown> };
  reload?: ReloadConfig;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();

function checked<A>(name: CommandName, run: (args: A) => unknown): CommandHandler {
  return (args) => {
    let validate = validators.get(name);
    if (!validate) validators.set(name, (validate = ajv.compile(COMMANDS[name].args)));
    if (!validate(args)) {
      const problems = (validate.errors ?? []).slice(0, 5).map((e) => `args${e.instancePath} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`);
      throw new Error(problems.join('; '));
    }
    return run(args as A);
  };
}

export function storeCommands(deps: StoreCommandDeps): Record<string, CommandHandler> {
  const { config } = deps;
  const products = new Set(config.planogram.products.map((p) => p.id));
  const reload = (overlay?: CloudOverlay): Promise<{ changed: string[] }> => {
    if (!deps.reload) throw new Error('this agent cannot reload its configuration (it was not started by `edge-agent run`)');
    return deps.reload(overlay);
  };
  const overlay = (): CloudOverlay => readCloudOverlay(config.dataDir) ?? { v: 1, updatedAt: new Date(deps.clock()).toISOString() };
  const unknown = (ids: readonly string[]): void => {
    const missing = ids.filter((id) => !products.has(id));
    if (missing.length > 0) throw new Error(`not in the planogram: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`);
  };

  return {
    health: checked('health', () => deps.health()),
    'reload-config': checked('reload-config', async () => ({ reloading: true, ...(await reload()) })),
    'update-prices': checked<UpdatePricesArgs>('update-prices', async ({ prices }) => {
      unknown(Object.keys(prices));
      const current = overlay();
      const next: CloudOverlay = { ...current, updatedAt: new Date(deps.clock()).toISOString(), prices: { ...current.prices, ...prices } };
      return { updated: Object.keys(prices).length, reloading: true, ...(await reload(next)) };
    }),
    'update-planogram': checked<UpdatePlanogramArgs>('update-planogram', async ({ products: list }) => {
      const ids = list.map((p) => p.id);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      if (twice.length > 0) throw new Error(`products listed twice: ${[...new Set(twice)].join(', ')}`);
      // A whole planogram carries its own prices: earlier price updates give way to it.
      const { prices: _prices, ...current } = overlay();
      const next: CloudOverlay = { ...current, updatedAt: new Date(deps.clock()).toISOString(), planogram: { products: list } };
      return { products: list.length, reloading: true, ...(await reload(next)) };
    }),
    'add-gallery-images': checked<AddGalleryImagesArgs>('add-gallery-images', async ({ product, images }) => {
      unknown([product]);
      const pictures = images.map((image, i) => {
        const source = image.name ?? `cloud-${i + 1}`;
        return { source, frame: decodeImage(Buffer.from(image.data, 'base64'), `images[${i}] (${source})`) };
      });
      return deps.recognition.addReferences(product, pictures, 'cloud');
    }),
    'set-screen-content': checked<SetScreenContentArgs>('set-screen-content', ({ screen, products: shown, title, message, minutes }) => {
      if (!config.screens.some((s) => s.id === screen)) throw new Error(`no screen ${screen}; screens: ${config.screens.map((s) => s.id).join(', ') || 'none configured'}`);
      unknown(shown);
      const at = deps.clock();
      const expiresAt = minutes === undefined ? null : at + minutes * 60_000;
      const content = { products: shown, ...(title ? { title } : {}), ...(message ? { message } : {}) };
      new ScreenContentRepository(deps.database.handle).set(screen, content, at, expiresAt);
      const cleared = shown.length === 0 && !title && !message;
      deps.bus.emit('screen.content', { screen, content: cleared ? null : content, expiresAt, at });
      return { screen, cleared, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
    }),
  };
}
