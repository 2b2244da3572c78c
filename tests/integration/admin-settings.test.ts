/**
 * The settings page's API on a running agent: the configuration in force without secret values,
 * users managed by admins only (validated, audited), and the last admin protected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS, signIn } from '../support/admin.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('admin settings', { timeout: 60_000 }, () => {
  it('shows the configuration without secret values, and lets admins manage users', async () => {
    process.env['TEST_MQTT_PASSWORD'] = 'super-secret-value';
    cleanups.push(async () => void delete process.env['TEST_MQTT_PASSWORD']);
    const base = demoConfig(tempDir());
    const config = { ...base, cameras: [], gates: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 }, mqtt: { ...base.mqtt, passwordEnv: 'TEST_MQTT_PASSWORD' } };
    const agent = new Agent({ config, secrets: { screenTokens: new Map(), mqttPassword: 'super-secret-value' }, log: silentLogger(), version: 'x' });
    await agent.start();
    cleanups.push(async () => void (await agent.stop('test')));
    await addUsers(agent.database);
    const url = agent.adminUrl!;
    const viewer = await signIn(url, 'viewer', PASSWORDS.viewer);
    const admin = await signIn(url, 'admin', PASSWORDS.admin);

    const shown = await viewer.fetch('/api/settings/config');
    expect(shown.status).toBe(200);
    const text = await shown.text();
    expect(text).not.toContain('super-secret-value');
    const body = JSON.parse(text) as { config: { store: { id: string } }; environment: { path: string; variable: string; set: boolean }[] };
    expect(body.config.store.id).toBe(config.store.id);
    expect(body.environment).toContainEqual({ path: '/mqtt/passwordEnv', variable: 'TEST_MQTT_PASSWORD', set: true });

    expect((await viewer.fetch('/api/settings/users')).status).toBe(403);
    expect((await viewer.fetch('/api/settings/users', { method: 'POST', body: { username: 'eve', role: 'admin', password: 'long-enough-pass' } })).status).toBe(403);
    const weak = await admin.fetch('/api/settings/users', { method: 'POST', body: { username: 'carol', role: 'staff', password: 'short' } });
    expect(weak.status).toBe(400);
    expect(((await weak.json()) as { error: string }).error).toMatch(/at least 10 characters/);
    expect((await admin.fetch('/api/settings/users', { method: 'POST', body: { username: 'carol', role: 'boss', password: 'carol-pass-2026' } })).status).toBe(400);
    const added = await admin.fetch('/api/settings/users', { method: 'POST', body: { username: 'carol', role: 'staff', password: 'a-good-pass-2026' } });
    expect(added.status).toBe(201);
    expect((await admin.fetch('/api/settings/users', { method: 'POST', body: { username: 'carol', role: 'staff', password: 'a-good-pass-2026' } })).status).toBe(409);
    const carol = await signIn(url, 'carol', 'a-good-pass-2026');
    expect((await carol.fetch('/api/me')).status).toBe(200);

    // Disabling ends the user's sessions at once.
    expect((await admin.fetch('/api/settings/users/carol', { method: 'PATCH', body: { disabled: true } })).status).toBe(200);
    expect((await carol.fetch('/api/me')).status).toBe(401);
    // The only admin cannot demote or disable themself.
    const demote = await admin.fetch('/api/settings/users/admin', { method: 'PATCH', body: { role: 'staff' } });
    expect(demote.status).toBe(409);
    expect((await admin.fetch('/api/settings/users/nobody', { method: 'PATCH', body: { disabled: true } })).status).toBe(404);
    expect((await admin.fetch('/api/settings/users/carol', { method: 'PATCH', body: {} })).status).toBe(400);

    const audit = (await (await admin.fetch('/api/settings/audit')).json()) as { entries: { user: string; action: string; subject: string | null }[] };
    expect(audit.entries.map((e) => `${e.user} ${e.action} ${e.subject ?? ''}`.trim())).toEqual(expect.arrayContaining(['admin user.add carol', 'admin user.change carol']));
  });
});
