/**
 * `edge-agent user …` on a store database: the first admin made from the command line (the
 * password from standard input, scrypt-hashed), refusals for weak passwords, unknown roles and
 * names taken, and disabling.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CLI, lastJsonLine } from '../support/cli.js';
import { demoConfig, writeJson } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

function user(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'user', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('edge-agent user', { timeout: 60_000 }, () => {
  it('adds the first admin from standard input, refuses weak passwords, taken names and bad roles, and disables', async () => {
    const dir = tempDir();
    const file = writeJson(dir, 'store.json', demoConfig(join(dir, 'data')));
    const added = await user(['add', 'alice', '--role', 'admin', '--config', file, '--password-stdin'], 'correct horse battery\n');
    expect(added.code).toBe(0);
    expect(lastJsonLine(added.stdout)).toMatchObject({ ok: true, user: { username: 'alice', role: 'admin', disabledAt: null } });
    expect((await user(['add', 'bob', '--config', file, '--password-stdin'], 'short\n')).stderr).toMatch(/at least 10 characters/);
    expect((await user(['add', 'carol', '--config', file, '--password-stdin'], 'carol-is-my-password\n')).stderr).toMatch(/must not contain the user name/);
    const taken = await user(['add', 'ALICE', '--config', file, '--password-stdin'], 'another good one\n');
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/exists already/);
    expect((await user(['add', 'dave', '--role', 'owner', '--config', file, '--password-stdin'], 'a long enough one\n')).code).toBe(2);
    expect((await user(['disable', 'alice', '--config', file])).code).toBe(0);
    expect((await user(['disable', 'nobody', '--config', file])).code).toBe(2);
    const db = new BetterSqlite3(join(dir, 'data', 'store.db'), { readonly: true });
    const rows = db.prepare('SELECT username, role, password_hash AS hash, disabled_at IS NOT NULL AS disabled FROM users').all() as { username: string; role: string; hash: string; disabled: number }[];
    db.close();
    expect(rows).toEqual([{ username: 'alice', role: 'admin', hash: expect.stringMatching(/^scrypt\$/), disabled: 1 }]);
    expect(rows[0]!.hash).not.toContain('correct horse');
  });
});
