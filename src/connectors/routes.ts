import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses, merchantSecurity, NullableOut, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import {
  type ConnectionRow,
  clientFor,
  defaultPlatformDeps,
  deleteConnection,
  findConnection,
  markConnection,
  openConnection,
  type SyncState,
  saveConnection,
} from './connections.js';
import { depsForConnection, platformEgress, settingsProblems } from './egress.js';
import {
  type Connection,
  type PlatformClient,
  type PlatformConnector,
  PlatformError,
  SettingError,
} from './platform.js';
import { PLATFORM_IDS, platformConnector } from './platforms.js';
import { cancelBackfill, scheduleReconcile, startBackfill } from './sync.js';

const tags = ['Shop connection'];
const security = merchantSecurity;
const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });
const Strings = Type.Record(Type.String({ maxLength: 64 }), Str(4000), { maxProperties: 20 });

const ConnectionView = Type.Object({
  id: Type.String(),
  platform: Type.String(),
  settings: Type.Record(Type.String(), Type.String()),
  credentials_set: Type.Array(Type.String(), {
    description: 'Which credentials are stored (never their values).',
  }),
  status: Type.String({ enum: ['active', 'error'] }),
  last_error: NullableOut(Type.String()),
  webhook_url: Type.String({
    description: 'Register this URL for the platform’s order, fulfilment and refund webhooks.',
  }),
  sync: Type.Object({}, { additionalProperties: true }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

/** Connect a shop platform account, test it, see sync status, start a backfill, disconnect (SPEC §9). */
export function connectionRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const view = (row: ConnectionRow, credentialKeys: string[]) => ({
    id: row.id,
    platform: row.platform,
    settings: row.settings as Record<string, string>,
    credentials_set: credentialKeys,
    status: row.status as 'active' | 'error',
    last_error: row.lastError,
    webhook_url: `${deps.config.publicUrl}/v1/connectors/${row.id}/webhooks`,
    sync: row.sync as SyncState,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  });
  const keysOf = (row: ConnectionRow) =>
    Object.keys(openConnection(deps.masterSecret, row).credentials).sort();
  const platformDeps = () => defaultPlatformDeps(deps.config, deps.log);
  const require = async (shopId: string) => {
    const row = await findConnection(db, shopId);
    if (!row) throw new AppError('connection_not_found', 'This shop has no platform connection.');
    return row;
  };
  /**
   * A failed test is the platform's answer, shown to the merchant as such (never a 500); so is a stored setting
   * the connector cannot read or the egress policy refuses (`failure`: the error itself).
   */
  const test = async (client: () => PlatformClient | Promise<PlatformClient>) => {
    try {
      const shopName = (await (await client()).testConnection()).shopName;
      return { ok: true as const, shop_name: shopName, error: null, failure: null };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      return {
        ok: false as const,
        shop_name: null,
        error: { kind: err.kind, message: err.message },
        failure: err,
      };
    }
  };
  /** A setting or credential the connector refused before sending anything: the request's fault, at its field. */
  const invalid = (err: PlatformError) => {
    const path = err instanceof SettingError ? err.path : '/settings';
    const what = path.startsWith('/credentials') ? 'credentials' : 'settings';
    return new AppError('validation_failed', `Invalid ${what}: ${err.message}`, [
      { path, message: err.message },
    ]);
  };
  /** The connector's client for a connection being saved; settings it cannot parse answer 400, not 500. */
  const open = (connector: PlatformConnector, connection: Connection): PlatformClient => {
    try {
      return connector.create(connection, depsForConnection(connection, platformDeps()));
    } catch (err) {
      if (err instanceof PlatformError) throw invalid(err);
      throw err;
    }
  };
  const TestResult = Type.Object({
    ok: Type.Boolean(),
    shop_name: NullableOut(Type.String()),
    error: NullableOut(Type.Object({ kind: Type.String(), message: Type.String() })),
  });

  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/connection/platforms',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'The platforms a shop can connect, with what each asks for and can do',
          description:
            'Every platform this server supports: its `id` (the `platform` of PUT …/connection), its `capabilities`, and the `settings_fields` and `credential_fields` PUT expects. `api_base_url` is offered (optional) only where the operator set CONNECTOR_TEST_URLS. Needs the admin role (403 `forbidden`).',
          params: Slug,
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  id: Type.String(),
                  name: Type.String(),
                  capabilities: Type.Array(Type.String()),
                  settings_fields: Type.Array(
                    Type.Object({
                      key: Type.String(),
                      label: Type.String(),
                      example: Type.Optional(Type.String()),
                      optional: Type.Boolean(),
                    }),
                  ),
                  credential_fields: Type.Array(Type.Object({ key: Type.String(), label: Type.String() })),
                }),
              ),
            }),
            ...errorResponses,
            403: Type.Ref('Error'),
          },
        },
      },
      async () => {
        const all = await Promise.all(PLATFORM_IDS().map((id) => platformConnector(id)));
        return {
          data: all
            .filter((c): c is NonNullable<typeof c> => c !== null)
            .map(({ manifest: m }) => ({
              id: m.id,
              name: m.name,
              capabilities: [...m.capabilities],
              settings_fields: [
                ...m.settingsFields.filter((f) => f.key !== 'api_base_url'),
                // A simulator's address, offered only where the operator allows it (CONNECTOR_TEST_URLS).
                ...(deps.config.connectorTestUrls
                  ? [{ key: 'api_base_url', label: 'API base URL (tests only)' }]
                  : []),
              ].map((f) => ({
                ...f,
                optional: !!('optional' in f && f.optional) || f.key === 'api_base_url',
              })),
              credential_fields: m.credentialFields.map((f) => ({ key: f.key, label: f.label })),
            })),
        };
      },
    );

    app.get(
      '/v1/shops/:slug/connection',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'The shop’s platform connection and its sync status',
          description:
            'The platform, `settings`, which credentials are stored (`credentials_set`, never their values), `status` (`error` once syncing stopped on refused credentials or an unsupported request; `last_error` says why), the `webhook_url` to register at the platform, and `sync`: backfill progress, how far reconcile has caught up, the last webhook and the last import errors. Needs the admin role (403 `forbidden`). 404 `connection_not_found` when the shop has none.',
          params: Slug,
          response: { 200: ConnectionView, ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req) => {
        const row = await require(req.shop.id);
        return view(row, keysOf(row));
      },
    );

    app.put(
      '/v1/shops/:slug/connection',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Connect (or reconfigure) the shop’s platform account',
          description:
            'Credentials are encrypted at rest and never returned; omitted credentials keep their stored value. Platform addresses (`api_url`, `admin_api_url`, `store_url`) must be https URLs of a public address: a loopback, private, link-local or otherwise internal address — written as an IP or reached through DNS — answers 400 `validation_failed` at the setting, and nothing is sent to it (the webhooks’ egress rules), unless the operator allow-listed the host or its range in CONNECTOR_ALLOWED_HOSTS (a self-hosted shop on the private network; https still required). The connection is tested first: a platform that refuses the credentials answers 422 `connection_failed` and nothing is stored. A new connection starts a backfill of recent orders (`backfill_days`, default 90).',
          params: Slug,
          body: Type.Object(
            {
              platform: Type.String({ maxLength: 32 }),
              settings: Strings,
              credentials: Type.Optional(Strings),
              backfill_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ connection: ConnectionView, test: TestResult }),
            ...errorResponses,
            422: Type.Ref('Error'),
          },
        },
      },
      async (req) => {
        const body = req.body as {
          platform: string;
          settings: Record<string, string>;
          credentials?: Record<string, string>;
          backfill_days?: number;
        };
        const connector = await platformConnector(body.platform);
        if (!connector)
          throw new AppError('validation_failed', `Unknown platform "${body.platform}".`, [
            { path: '/platform', message: `one of ${PLATFORM_IDS().join(', ') || '(none installed)'}` },
          ]);
        // A platform address of the merchant's choosing could point at internal hosts (SSRF): tests only.
        if (body.settings.api_base_url !== undefined && !deps.config.connectorTestUrls)
          throw new AppError(
            'validation_failed',
            'api_base_url is only for tests (CONNECTOR_TEST_URLS=true).',
            [{ path: '/settings/api_base_url', message: 'not allowed' }],
          );
        const missing = connector.manifest.settingsFields
          .filter((f) => !f.optional && f.key !== 'api_base_url' && !body.settings[f.key])
          .map((f) => ({ path: `/settings/${f.key}`, message: 'required' }));
        if (missing.length) throw new AppError('validation_failed', 'Some settings are missing.', missing);
        // Platform addresses go through the egress policy (CONNECTOR_ALLOWED_HOSTS) before anything is sent (SSRF).
        const refused = settingsProblems(
          connector.manifest,
          body.settings,
          platformEgress(deps.config).policy,
        );
        if (refused.length)
          throw new AppError(
            'validation_failed',
            `Invalid settings: ${refused.map((r) => `${r.path.split('/').pop()} ${r.message}`).join('; ')}.`,
            refused,
          );
        const before = await findConnection(db, req.shop.id);
        const kept =
          before?.platform === body.platform ? openConnection(deps.masterSecret, before).credentials : {};
        const connection = { settings: body.settings, credentials: { ...kept, ...(body.credentials ?? {}) } };
        const client = open(connector, connection);
        // Tested before anything is stored: refused credentials leave the previous connection as it was.
        const { failure, ...result } = await test(() => client);
        // Refused before a request (a setting, or an address the egress policy refused on connecting): a 400
        // at the field, whatever lies behind the address.
        if (failure instanceof SettingError) throw invalid(failure);
        if (!result.ok)
          throw new AppError(
            'connection_failed',
            `The platform refused the connection: ${result.error?.message}`,
            [{ path: '/credentials', message: result.error?.kind ?? 'failed' }],
          );
        const row = await saveConnection(db, deps.masterSecret, req.shop.id, {
          platform: body.platform,
          ...connection,
        });
        // Webhooks make sync immediate; without them (or if the platform refuses) reconcile still catches up.
        if (client.registerWebhooks)
          await client
            .registerWebhooks(view(row, []).webhook_url)
            .catch((err: Error) =>
              markConnection(db, row, 'active', `Webhooks could not be registered: ${err.message}`),
            );
        if (!before || before.id !== row.id) {
          await startBackfill(db, row, new Date(Date.now() - (body.backfill_days ?? 90) * 86_400_000));
          await scheduleReconcile(db, row);
          deps.nudgeWorker?.();
        } else {
          // The same connection saved again (e.g. working credentials after refused ones stopped syncing):
          // reconcile catches up now. A reconcile already queued or running keeps its key, and this adds none.
          await scheduleReconcile(db, row, new Date());
          deps.nudgeWorker?.();
        }
        const fresh = await require(req.shop.id);
        return { connection: view(fresh, keysOf(fresh)), test: result };
      },
    );

    app.post(
      '/v1/shops/:slug/connection/test',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Test the stored connection',
          description:
            'Calls the platform with the stored settings and credentials and changes nothing (`status` and `last_error` stay as they are). A refusal is not an error status: 200 with `ok: false` and `error` (`kind`, `message`); success gives the platform’s `shop_name`. Needs the admin role (403 `forbidden`). 404 `connection_not_found` when the shop has none.',
          params: Slug,
          response: { 200: TestResult, ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req) => {
        const row = await require(req.shop.id);
        const { failure: _, ...result } = await test(() => clientFor(deps.masterSecret, row, platformDeps()));
        return result;
      },
    );

    app.post(
      '/v1/shops/:slug/connection/backfill',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Import the orders of the last N days again (progress in `sync.backfill`)',
          description:
            'Restarts `sync.backfill` (status `running`, counters at zero) for orders created in the last `days` days and queues the import job; orders already in Resolve are updated, not duplicated. Answers 202 with the connection; follow the progress in GET …/connection. One backfill at a time: while one is in progress (its import job is running, queued for its next pages or waiting to retry) the request answers 409 `backfill_running`, whose message gives the running backfill’s progress, and nothing changes; start the new one once `sync.backfill.status` is `done`, `failed` or `cancelled` (POST …/connection/backfill/cancel stops a running one). Needs the admin role (403 `forbidden`). 404 `connection_not_found` when the shop has none.',
          params: Slug,
          body: Type.Object(
            { days: Type.Integer({ minimum: 1, maximum: 3650 }) },
            { additionalProperties: false },
          ),
          response: {
            202: ConnectionView,
            ...errorResponses,
            403: Type.Ref('Error'),
            409: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const row = await require(req.shop.id);
        await startBackfill(db, row, new Date(Date.now() - (req.body as { days: number }).days * 86_400_000));
        deps.nudgeWorker?.();
        reply.code(202);
        const fresh = await require(req.shop.id);
        return view(fresh, keysOf(fresh));
      },
    );

    app.post(
      '/v1/shops/:slug/connection/backfill/cancel',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Stop the running backfill (orders imported so far stay)',
          description:
            'Stops the backfill in progress: `sync.backfill.status` becomes `cancelled` with `finished_at` set, and its counters (`imported`, `failed`) and `cursor` stay as far as it got. Its queued import job is removed at once; a page being imported at that moment is the job’s last: its orders are stored and added to the counters (so `imported` and `cursor` may still grow once, just after this answer), and the job stops there without changing the status or queueing more. Answers 200 with the connection (as GET …/connection); a new backfill can be started right away. 409 `backfill_not_running` when no backfill is running (none started, or it is already `done`, `failed` or `cancelled`), and nothing changes. Needs the admin role (403 `forbidden`). 404 `connection_not_found` when the shop has none.',
          params: Slug,
          response: {
            200: ConnectionView,
            ...errorResponses,
            403: Type.Ref('Error'),
            409: Type.Ref('Error'),
          },
        },
      },
      async (req) => {
        const row = await require(req.shop.id);
        await cancelBackfill(db, row);
        const fresh = await require(req.shop.id);
        return view(fresh, keysOf(fresh));
      },
    );

    app.delete(
      '/v1/shops/:slug/connection',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Disconnect the platform (orders already imported stay)',
          description:
            'Deletes the connection with its stored credentials; the shop becomes `headless`. Nothing is sent to the platform: webhooks registered there stay, and their deliveries to the old `webhook_url` answer 401; queued sync jobs stop. Needs the admin role (403 `forbidden`). 404 `connection_not_found` when the shop has none.',
          params: Slug,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await deleteConnection(db, req.shop.id);
        return reply.code(204).send(null);
      },
    );
  };
}
