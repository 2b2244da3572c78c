/**
 * The stock & alerts page's API on a running agent: facings with their counts, alerts staff can
 * acknowledge (once, audited), restocking started and stopped by staff only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import { AlertRepository } from '../../edge-agent/src/db/repositories/alerts.js';
import { UserRepository } from '../../edge-agent/src/db/repositories/users.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signIn } from '../support/admin.js';
import { devicelessConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('admin stock and alerts', { timeout: 60_000 }, () => {
  it('lists facings and alerts, lets staff acknowledge alerts and start restocking', async () => {
    const config = devicelessConfig(tempDir());
    const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    await addUsers(agent.database);
    const url = agent.adminUrl!;
    const viewer = await signIn(url, 'viewer', PASSWORDS.viewer);
    const staff = await signIn(url, 'staff', PASSWORDS.staff);
    expect((await fetch(`${url}/api/stock`)).status).toBe(401);

    const stock = (await (await viewer.fetch('/api/stock')).json()) as { facings: { plate: string; state: string; units: number | null }[]; shelves: string[] };
    expect(stock.facings).toHaveLength(48);
    expect(stock.facings[0]).toMatchObject({ plate: expect.stringMatching(/^\d\.\d\.\d$/), state: 'not read yet', units: null });
    expect(stock.shelves).toContain('1.1');

    const alert = new AlertRepository(agent.database.handle, config.store.id).raise('out-of-stock', '1.1.3', { plate: '1.1.3', product: 'water-sparkling-500', units: 0 }, Date.now()).alert;
    const listed = (await (await viewer.fetch('/api/alerts')).json()) as { alerts: { id: number; state: string }[] };
    expect(listed.alerts).toContainEqual(expect.objectContaining({ id: alert.id, state: 'open' }));
    expect((await viewer.fetch(`/api/alerts/${alert.id}/acknowledge`, { method: 'POST' })).status).toBe(403);
    expect((await staff.fetch(`/api/alerts/${alert.id}/acknowledge`, { method: 'POST' })).status).toBe(200);
    expect((await staff.fetch(`/api/alerts/${alert.id}/acknowledge`, { method: 'POST' })).status).toBe(409);
    expect((await staff.fetch('/api/alerts/abc/acknowledge', { method: 'POST' })).status).toBe(400);
    const after = (await (await viewer.fetch('/api/alerts')).json()) as { alerts: { id: number; state: string }[] };
    expect(after.alerts.find((a) => a.id === alert.id)!.state).toBe('acknowledged');

    expect((await viewer.fetch('/api/stock/restock', { method: 'POST', body: { shelf: '1.1' } })).status).toBe(403);
    expect((await staff.fetch('/api/stock/restock', { method: 'POST', body: { shelf: '9.9' } })).status).toBe(404);
    expect((await staff.fetch('/api/stock/restock', { method: 'POST', body: { shelf: 'all of them' } })).status).toBe(400);
    const started = await staff.fetch('/api/stock/restock', { method: 'POST', body: { shelf: '1.1', minutes: 5 } });
    expect(started.status).toBe(200);
    expect(agent.stock.restock.active('1.1', Date.now())).toBe(true);
    expect(agent.stock.restock.active('1.2', Date.now())).toBe(false);
    expect((await staff.fetch('/api/stock/restock/stop', { method: 'POST', body: { shelf: '1.1' } })).status).toBe(200);
    expect(agent.stock.restock.active('1.1', Date.now())).toBe(false);
    const audit = new UserRepository(agent.database.handle).auditLog(20).map((a) => `${a.user} ${a.action} ${a.subject}`);
    expect(audit).toEqual(expect.arrayContaining([`staff alert.acknowledge ${alert.id}`, 'staff stock.restock 1.1', 'staff stock.restock-stop 1.1']));
  });
});
