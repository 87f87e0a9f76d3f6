import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import type { Db } from './db/client.js';
import { DataDirLockedError } from './db/lock.js';
import { openAndMigrate } from './db/open.js';
import { seedDemo } from './demo/seed.js';
import { AppError } from './lib/errors.js';
import { createApiKey, ROLES, type Role } from './shops/api-keys.js';
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

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openAndMigrate(loadConfig());
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
    case 'start': {
      // The database opens (PGlite: WASM start-up) while the HTTP modules load.
      const t0 = performance.now();
      const config = loadConfig();
      const opening = openAndMigrate(config);
      opening.catch(() => {}); // reported where start() awaits it
      const { start } = await import('./server.js');
      return start(config, { worker: !values['no-worker'], seed: !values['no-seed'], t0 }, opening);
    }
    case 'worker':
      return (await import('./server.js')).startWorkerOnly(loadConfig());
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
      const days = values['expires-days'] ? Number(values['expires-days']) : null;
      if (days !== null && !(Number.isInteger(days) && days > 0))
        throw new UsageError('--expires-days takes a whole number of days');
      const secret = await withDb(async (db) => {
        const slugs = values.shop!.split(',').map((s) => s.trim());
        const shops = await Promise.all(slugs.map((s) => requireShop(db, s)));
        const { key, secret } = await createApiKey(db, {
          shopIds: shops.map((s) => s.id),
          role,
          name: values.name ?? slugs[0],
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
      await withDb(async (db) => {
        const shop = await requireShop(db, values.shop!);
        await createUser(db, { shopId: shop.id, email: values.email!, role, password });
      });
      console.log(`Created ${role} user ${values.email} for ${values.shop}.`);
      if (!values.password) console.log(`Password: ${password}`);
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) console.error(err.message);
  else if (err instanceof UsageError) console.error(`resolve: ${err.message}\n\n${USAGE}`);
  else if (err instanceof AppError)
    console.error(`resolve: ${err.message}${err.errors.map((e) => `\n  ${e.path}: ${e.message}`).join('')}`);
  else if (
    err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    err?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
  )
    console.error(`resolve: ${err.message}\n\n${USAGE}`);
  else console.error(err);
  process.exit(1);
});
