import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig, redactUrl, StartupError } from './config.js';
import type { Database, Db } from './db/client.js';
import { DataDirLockedError } from './db/lock.js';
import { openAndMigrate } from './db/open.js';
import { seedDemo } from './demo/seed.js';
import { AppError } from './lib/errors.js';
import type { StopSignals } from './server.js';
import { assertApiKeyNameFree, createApiKey, freeApiKeyName, ROLES, type Role } from './shops/api-keys.js';
import { createShop, requireShop } from './shops/shops.js';
import { createUser, generatePassword, resetPassword, USER_ROLES, type UserRole } from './shops/users.js';

const USAGE = `Usage: resolve <command> [options]

Commands:
  start [--no-worker] [--no-seed]   Serve HTTP (and run the worker unless --no-worker)
  worker                            Run background jobs only
  migrate                           Apply database migrations
  seed                              Create or refresh the demo shop
  shop create --slug S --name N     Create a shop
  api-key create --shop S[,S2] --role viewer|editor|admin [--name N] [--expires-days D]
                                    Create an API key; prints its secret as the last line
  user create --shop S --email E --role viewer|agent|admin [--password P]
                                    Create a portal user (prints a password when none is given)
  user reset-password --email E [--password P]
                                    Set a new password (printed when none is given), sign the user out

Configuration comes from the environment (PORT, DATA_DIR, DATABASE_URL, PUBLIC_URL, LOG_LEVEL, …): see README.md.`;

// Errors of reaching PostgreSQL that come from DATABASE_URL (or the server it names), not from a bug: system errors
// of the connection's own calls (so a missing migration file, ENOENT on `open`, stays a bug with its stack).
const PG_NET_SYSCALLS = new Set(['connect', 'getaddrinfo', 'read', 'write']);
// SQLSTATE: connection exception (08…), invalid authorization (28…), no such database (3D000), too many connections
// and other resource limits (53…), the server is starting or shutting down (57P…), missing privilege (42501).
const PG_CONFIG_SQLSTATE = /^(08|28|3D|53|57P)|^42501$/;
// pg's own connection errors, which carry no code.
const PG_CONNECT_MESSAGE =
  /^(Connection terminated|timeout (expired|exceeded)|SASL|The server does not support SSL|self[- ]signed certificate|unable to (get|verify)|certificate|Hostname\/IP does not match)/i;
// A data directory the process cannot use: file system errors on a path inside DATA_DIR.
const FS_CODES = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'ENOTDIR',
  'EISDIR',
  'EEXIST',
  'ENOENT',
  'ELOOP',
]);

type SystemError = Error & { code?: unknown; syscall?: unknown; path?: unknown; severity?: unknown };

/** The message of an error, or of each error an AggregateError holds (a host name with several addresses). */
function causeMessage(err: Error): string {
  const parts =
    err instanceof AggregateError ? err.errors.map((e) => (e as Error)?.message ?? String(e)) : [];
  const all = [...new Set([err.message, ...parts].filter(Boolean))];
  return all.join('; ') || err.name;
}

function fromConnection(e: SystemError): boolean {
  const code = typeof e.code === 'string' ? e.code : '';
  if (e instanceof AggregateError)
    return e.errors.some((inner) => inner instanceof Error && fromConnection(inner));
  if (typeof e.syscall === 'string' && PG_NET_SYSCALLS.has(e.syscall)) return true;
  if (typeof e.severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) return PG_CONFIG_SQLSTATE.test(code);
  if (/CERT|TLS|SSL|^UNABLE_TO_/.test(code)) return true; // the server's certificate or TLS set-up
  return !code && PG_CONNECT_MESSAGE.test(e.message);
}

/**
 * An error from opening the database, as a one-line StartupError naming DATABASE_URL (password hidden) or DATA_DIR
 * when the environment caused it; other errors (bugs, a failing migration) are returned unchanged.
 */
function databaseError(err: unknown, config: Config): unknown {
  if (!(err instanceof Error) || err instanceof ConfigError || err instanceof DataDirLockedError) return err;
  const e = err as SystemError;
  if (config.databaseUrl) {
    if (!fromConnection(e)) return err;
    return new StartupError(
      `cannot use the database at DATABASE_URL=${redactUrl(config.databaseUrl)}: ${causeMessage(e)}`,
      { cause: err },
    );
  }
  const inDataDir =
    typeof e.path === 'string' && (e.path === config.dataDir || e.path.startsWith(config.dataDir + path.sep));
  if (typeof e.code === 'string' && FS_CODES.has(e.code) && inDataDir) {
    return new StartupError(`cannot use DATA_DIR=${config.dataDir}: ${e.message}`, { cause: err });
  }
  return err;
}

/** Opens and migrates the configured database; failures the environment caused become StartupErrors. */
function openForCli(config: Config): Promise<Database> {
  return openAndMigrate(config).catch((err: unknown) => {
    throw databaseError(err, config);
  });
}

/** Traps SIGTERM and SIGINT now; the first one is kept for the handler `onStop` installs (later ones are ignored). */
function trapStopSignals(): StopSignals {
  let received: NodeJS.Signals | null = null;
  let handler: ((signal: NodeJS.Signals) => void) | null = null;
  const on = (signal: NodeJS.Signals) => {
    if (received) return;
    received = signal;
    handler?.(signal);
  };
  process.on('SIGTERM', on);
  process.on('SIGINT', on);
  return {
    onStop(fn) {
      handler = fn;
      if (received) fn(received);
    },
  };
}

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openForCli(loadConfig());
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub] = argv;
  if (command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  const rest = argv.slice(command === 'api-key' || command === 'shop' || command === 'user' ? 2 : 1);
  const { values } = parseArgs({
    args: rest,
    options: {
      'no-worker': { type: 'boolean' },
      'no-seed': { type: 'boolean' },
      shop: { type: 'string' },
      slug: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      'expires-days': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'start':
    case 'worker': {
      // The database opens (PGlite: WASM start-up) while the HTTP modules load. SIGTERM/SIGINT are trapped before
      // that, so a signal during start-up stops the process cleanly (database closed, DATA_DIR lock released).
      const t0 = performance.now();
      const config = loadConfig();
      const signals = trapStopSignals();
      const opening = openForCli(config);
      opening.catch(() => {}); // reported where start() awaits it
      const server = await import('./server.js');
      if (command === 'worker') return server.startWorkerOnly(config, opening, signals);
      return server.start(
        config,
        { worker: !values['no-worker'], seed: !values['no-seed'], t0 },
        opening,
        signals,
      );
    }
    case 'migrate':
      await withDb(async () => {});
      console.log('Migrations applied.');
      return;
    case 'seed': {
      const { credentials } = await withDb((db) => seedDemo(db, { password: loadConfig().demoPassword }));
      console.log(
        `Demo shop "demo" is ready.\nPortal: ${credentials.email} / ${credentials.password}\nAPI key: ${credentials.apiKey}`,
      );
      return;
    }
    case 'shop':
      if (sub !== 'create' || !values.slug || !values.name)
        throw new UsageError('shop create --slug S --name N');
      await withDb(async (db) => {
        const shop = await createShop(db, { slug: values.slug!, name: values.name! });
        console.log(`Created shop ${shop.slug} (${shop.id}).`);
      });
      return;
    case 'api-key': {
      const role = values.role as Role;
      if (sub !== 'create' || !values.shop || !ROLES.includes(role))
        throw new UsageError('api-key create --shop S --role viewer|editor|admin');
      const rawDays = values['expires-days'];
      const days = rawDays === undefined ? null : /^\d{1,5}$/.test(rawDays) ? Number(rawDays) : Number.NaN;
      if (days !== null && !(days >= 1 && days <= MAX_EXPIRES_DAYS))
        throw new UsageError(
          `--expires-days takes a whole number of days from 1 to ${MAX_EXPIRES_DAYS} (got "${rawDays}")`,
        );
      const secret = await withDb(async (db) => {
        const slugs = values.shop!.split(',').map((s) => s.trim());
        const shops = await Promise.all(slugs.map((s) => requireShop(db, s)));
        const shopIds = shops.map((s) => s.id);
        // An explicit --name must be free in every shop (it is the HTTP Basic username); without one, the
        // first free name from the slug on ("demo", "demo-2", …).
        if (values.name) for (const id of shopIds) await assertApiKeyNameFree(db, id, values.name);
        const name = values.name ?? (await freeApiKeyName(db, shopIds, slugs[0]));
        const { key, secret } = await createApiKey(db, {
          shopIds,
          role,
          name,
          expiresAt: days ? new Date(Date.now() + days * 86_400_000) : null,
        });
        console.log(
          `Created ${role} API key ${key.id} "${key.name}" for ${slugs.join(', ')}. Use it as HTTP Basic (username "${key.name}") or a Bearer token. The secret is shown only now:`,
        );
        return secret;
      });
      console.log(secret);
      return;
    }
    case 'user': {
      if (sub === 'reset-password') {
        if (!values.email) throw new UsageError('user reset-password --email E [--password P]');
        const password = values.password ?? generatePassword();
        await withDb((db) => resetPassword(db, values.email!, password));
        console.log(`New password set for ${values.email}; their portal sessions are signed out.`);
        if (!values.password) console.log(`Password: ${password}`);
        return;
      }
      const role = values.role as UserRole;
      if (sub !== 'create' || !values.shop || !values.email || !USER_ROLES.includes(role)) {
        throw new UsageError('user create --shop S --email E --role viewer|agent|admin [--password P]');
      }
      const password = values.password ?? generatePassword();
      const user = await withDb(async (db) => {
        const shop = await requireShop(db, values.shop!);
        return createUser(db, { shopId: shop.id, email: values.email!, role, password });
      });
      if (user.existed) {
        // An account that exists keeps its password: `user reset-password` changes it (and signs the user out).
        console.log(
          `${values.email} already has an account: made ${role} of ${values.shop}; password unchanged.`,
        );
        return;
      }
      console.log(`Created ${role} user ${values.email} for ${values.shop}.`);
      if (!values.password) console.log(`Password: ${password}`);
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

/** Ten years: the longest --expires-days (an API key that should never expire is created without it). */
const MAX_EXPIRES_DAYS = 3650;

// parseArgs errors are mistakes in the command line: one line and the usage, no stack.
const PARSE_ARGS_CODES = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) console.error(err.message);
  else if (err instanceof StartupError) console.error(`resolve: ${err.message}`);
  else if (err instanceof UsageError) console.error(`resolve: ${err.message}\n\n${USAGE}`);
  else if (err instanceof AppError)
    console.error(`resolve: ${err.message}${err.errors.map((e) => `\n  ${e.path}: ${e.message}`).join('')}`);
  else if (PARSE_ARGS_CODES.has(err?.code)) console.error(`resolve: ${err.message}\n\n${USAGE}`);
  else console.error(err); // unexpected: a bug, with its stack
  process.exit(1);
});
