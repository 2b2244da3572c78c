/**
 * After a restart the live page's event list starts from the stored facts of the last hours
 * (gate passes, weight events, receipts, alerts), not empty.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import { AlertRepository } from '../../edge-agent/src/db/repositories/alerts.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signIn } from '../support/admin.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('live page after a restart', { timeout: 60_000 }, () => {
  it('lists the stored events of the last hours', async () => {
    const config = devicelessConfig(tempDir());
    const first = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await first.start();
    const now = Date.now();
    new GateEventRepository(first.database.handle).record({ gate: 'gate-entry', kind: 'scan', token: 'tok-1234567890', at: now - 60_000 });
    new GateEventRepository(first.database.handle).record({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: now - 59_000 });
    new GateEventRepository(first.database.handle).record({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: now - 8 * 3_600_000 });
    new AlertRepository(first.database.handle, config.store.id).raise('device-down', 'shelf-1.1', {}, now - 30_000);
    await addUsers(first.database);
    await first.stop('restart');

    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    const viewer = await signIn(agent.adminUrl!, 'viewer', PASSWORDS.viewer);
    const live = (await (await viewer.fetch('/api/live')).json()) as { events: { type: string; text: string }[] };
    expect(live.events.map((e) => `${e.type} ${e.text}`)).toEqual(['alert device-down: shelf-1.1', 'gate gate-entry: pass in', 'gate gate-entry: scan · …7890']);
  });
});
