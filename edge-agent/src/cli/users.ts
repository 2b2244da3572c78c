/**
 * `edge-agent user …`: admin page users in the store database. The first admin is made here —
 * the agent never has a default password. Passwords come from standard input
 * (`--password-stdin`, for scripts) or a prompt that does not echo.
 */
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { hashPassword, passwordProblem } from '../admin/auth/passwords.js';
import { ROLES, UserRepository, type Role } from '../db/repositories/users.js';
import type { Logger } from '../log.js';
import { withStoreDatabase } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface UserOptions {
  config: string;
  dataDir?: string;
  username: string;
  role?: string;
  passwordStdin?: boolean;
}

const USERNAME = /^[A-Za-z0-9._@-]{2,64}$/;

async function readPassword(options: UserOptions, io: CliIo): Promise<string | undefined> {
  if (options.passwordStdin || !process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) {
      lines.close();
      return line.replace(/\r$/, '');
    }
    return undefined;
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      process.stderr.write(prompt);
      const stdin = process.stdin;
      stdin.setRawMode(true);
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.setRawMode(false);
            stdin.off('data', onData);
            stdin.pause();
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') process.exit(130);
          value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
        }
      };
      stdin.on('data', onData);
      stdin.resume();
    });
  const first = await ask(`password for ${options.username}: `);
  const again = await ask('again: ');
  if (first !== again) {
    io.err('error: the two passwords differ');
    return undefined;
  }
  return first;
}

export async function userAdd(options: UserOptions, io: CliIo, log: Logger): Promise<number> {
  if (!USERNAME.test(options.username)) {
    io.err('error: a user name is 2–64 letters, digits or . _ @ -');
    return EXIT_BAD_INPUT;
  }
  const role = (options.role ?? 'staff') as Role;
  if (!ROLES.includes(role)) {
    io.err(`error: --role is one of ${ROLES.join(', ')}`);
    return EXIT_BAD_INPUT;
  }
  const password = await readPassword(options, io);
  if (password === undefined) {
    io.err('error: no password given');
    return EXIT_BAD_INPUT;
  }
  const problem = passwordProblem(password, options.username);
  if (problem) {
    io.err(`error: the password needs ${problem}`);
    return EXIT_BAD_INPUT;
  }
  const hash = await hashPassword(password);
  const result = await withStoreDatabase(options, io, log, async (_config, database) => {
    const users = new UserRepository(database.handle);
    if (users.find(options.username)) return `a user ${options.username} exists already`;
    const by = `cli:${userInfo().username}@${hostname()}`;
    const user = users.add(options.username, role, hash, by, Date.now());
    users.audit(by, 'user.add', user.username, { role }, Date.now());
    return user;
  });
  if (typeof result === 'number') return result;
  if (typeof result === 'string') {
    io.err(`error: ${result}`);
    return EXIT_BAD_INPUT;
  }
  io.err(`user ${result.username} (${result.role}) added`);
  printResult(io, { ok: true, user: result });
  return EXIT_OK;
}

export async function userPassword(options: UserOptions, io: CliIo, log: Logger): Promise<number> {
  const password = await readPassword(options, io);
  const problem = password === undefined ? 'a password' : passwordProblem(password, options.username);
  if (problem) {
    io.err(`error: the password needs ${problem}`);
    return EXIT_BAD_INPUT;
  }
  const hash = await hashPassword(password!);
  return changeUser(options, io, log, (users, id, by) => {
    users.setPassword(id, hash);
    users.audit(by, 'user.password', options.username, {}, Date.now());
  });
}

export async function userSetDisabled(options: UserOptions, disabled: boolean, io: CliIo, log: Logger): Promise<number> {
  return changeUser(options, io, log, (users, id, by) => {
    users.setDisabled(id, disabled, Date.now());
    users.audit(by, disabled ? 'user.disable' : 'user.enable', options.username, {}, Date.now());
  });
}

async function changeUser(options: UserOptions, io: CliIo, log: Logger, change: (users: UserRepository, id: number, by: string) => void): Promise<number> {
  const result = await withStoreDatabase(options, io, log, async (_config, database) => {
    const users = new UserRepository(database.handle);
    const user = users.find(options.username);
    if (!user) return undefined;
    change(users, user.id, `cli:${userInfo().username}@${hostname()}`);
    return users.get(user.id)!;
  });
  if (typeof result === 'number') return result;
  if (!result) {
    io.err(`error: no user ${options.username}`);
    return EXIT_BAD_INPUT;
  }
  printResult(io, { ok: true, user: result });
  return EXIT_OK;
}

export async function userList(options: Omit<UserOptions, 'username'>, io: CliIo, log: Logger): Promise<number> {
  const result = await withStoreDatabase(options, io, log, async (_config, database) => new UserRepository(database.handle).list());
  if (typeof result === 'number') return result;
  for (const u of result) io.err(`${u.username.padEnd(20)} ${u.role.padEnd(7)} ${u.disabledAt === null ? '' : 'disabled'}`);
  printResult(io, { ok: true, users: result });
  return EXIT_OK;
}
