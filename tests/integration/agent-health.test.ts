import { describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import { buildAdminApp } from '../../edge-agent/src/admin/app.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { bareConfig, demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

function newAgent(dataDir: string): Agent {
  return new Agent({ config: bareConfig(dataDir), secrets: { screenTokens: new Map() }, log: silentLogger(), version: '0.0.0-test' });
}

describe('agent lifecycle and /healthz', () => {
  it('starts its components in dependency order and reports them all up', async () => {
    const agent = newAgent(tempDir());
    expect(agent.startOrder).toEqual(['database', 'agent-run', 'retention', 'calibration', 'vision', 'recognition', 'analytics', 'checkout', 'stock', 'shelf-monitor', 'rfid-monitor', 'alerts', 'signage', 'broker', 'summaries', 'sync', 'admin']);
    await agent.start();
    const app = await buildAdminApp({ log: silentLogger(), health: () => agent.health() });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({
      status: 'ok',
      storeId: 'demo-001',
      version: '0.0.0-test',
      runId: 1,
      previousRunStoppedCleanly: null,
      busListenerFailures: 0,
      components: {
        database: { status: 'up', state: 'running', schema: 15 },
        'agent-run': { status: 'up', state: 'running' },
        retention: { status: 'up', state: 'running' },
        calibration: { status: 'up', state: 'running' },
        'shelf-monitor': { status: 'up', state: 'running' },
        'rfid-monitor': { status: 'up', state: 'running' },
        analytics: { status: 'up', state: 'running', occupancy: 0, lastObservationAt: null },
        checkout: { status: 'up', state: 'running', openSessions: 0, shoppersInStore: 0, receiptLatencyMs: null },
        // No broker configured: an embedded one on loopback, which the publisher uses.
        broker: { status: 'up', state: 'running', url: expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/) },
        sync: { status: 'up', state: 'running', backlog: 0 },
        admin: { status: 'up', state: 'running' },
      },
    });
    expect(typeof body.components.database.latencyMs).toBe('number');
    await app.close();
    await agent.stop('test');
  });

  it('answers 503 when the database is unreachable', async () => {
    const agent = newAgent(tempDir());
    await agent.start();
    const app = await buildAdminApp({ log: silentLogger(), health: () => agent.health() });
    await agent.stop('test');
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'down', components: { database: { status: 'down', state: 'stopped' } } });
    await app.close();
  });

  it('serves /healthz on its real port and records a clean stop', async () => {
    const dataDir = tempDir();
    const first = newAgent(dataDir);
    await first.start();
    expect(first.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const live = await fetch(`${first.adminUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await first.stop('SIGTERM')).toEqual([]);
    // Stopping twice is harmless: signals can repeat.
    expect(await first.stop('SIGTERM')).toEqual([]);

    const second = newAgent(dataDir);
    await second.start();
    expect(second.health()).toMatchObject({ runId: 2, previousRunStoppedCleanly: true });
    await second.stop('test');
  });

  it('answers unknown routes with JSON 404 and hides server error details', async () => {
    const app = await buildAdminApp({
      log: silentLogger(),
      health: () => {
        throw new Error('secret internal detail');
      },
    });
    const missing = await app.inject({ method: 'GET', url: '/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'no route GET /nope', statusCode: 404 });
    const broken = await app.inject({ method: 'GET', url: '/healthz' });
    expect(broken.statusCode).toBe(500);
    expect(broken.body).not.toContain('secret internal detail');
    expect(broken.json()).toEqual({ error: 'internal error', statusCode: 500 });
    await app.close();
  });

  it('fails to start cleanly when the admin port is taken, releasing the database', async () => {
    const a = newAgent(tempDir());
    await a.start();
    const port = Number(new URL(a.adminUrl!).port);
    const bDir = tempDir();
    const b = new Agent({
      config: { ...bareConfig(bDir), admin: { ...bareConfig(bDir).admin, host: '127.0.0.1', port } },
      secrets: { screenTokens: new Map() },
      log: silentLogger(),
      version: 'x',
    });
    await expect(b.start()).rejects.toThrow(/admin failed to start: admin server cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    expect(b.database.isOpen).toBe(false);
    await a.stop('test');
  });

  it('reports devices it cannot reach as degraded, with the reason, and keeps running', async () => {
    const agent = new Agent({ config: demoConfig(tempDir()), secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    expect(agent.startOrder.slice(0, 14)).toEqual(['database', 'agent-run', 'retention', 'calibration', 'vision', 'recognition', 'analytics', 'checkout', 'stock', 'shelf-monitor', 'rfid-monitor', 'alerts', 'signage', 'shelf-1.1']);
    await agent.start();
    const report = agent.health();
    // No simulator is running, so sim:// devices cannot be opened: reported, retried, never fatal.
    expect(report.status).toBe('degraded');
    expect(report.components['shelf-1.1']).toMatchObject({ status: 'degraded', state: 'running' });
    expect(String(report.components['shelf-1.1']!.detail)).toMatch(/sim:\/\/shelf-1\.1/);
    expect(report.components['gate-gate-entry']).toMatchObject({ status: 'degraded' });
    expect(report.components['calibration']).toMatchObject({ status: 'degraded', detail: '48 plates without calibration' });
    // Cameras without a simulator to resolve them are reported as problems and not started.
    expect(agent.problems.map((p) => p.device)).toEqual(['cam-overhead-1', 'cam-overhead-2', 'cam-shelf-1']);
    await agent.stop('test');
  });
});
