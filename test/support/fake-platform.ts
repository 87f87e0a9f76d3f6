import { createHmac, timingSafeEqual } from 'node:crypto';
import { type PlatformClient, type PlatformConnector, PlatformError } from '../../src/connectors/platform.js';
import type { AddressInputT, OrderInputT } from '../../src/orders/document.js';
import { daysAgo } from './http.js';
import { orderDoc } from './orders.js';

/**
 * A platform for testing Resolve's connector core (sync, webhooks, actions) without any real platform's
 * details: orders in memory, HMAC-signed webhooks, refunds that honour the idempotency key.
 */
export class FakePlatform {
  orders = new Map<string, OrderInputT & { updated_at: string }>();
  refunds: {
    id: string;
    key: string;
    order: string;
    lines: { externalLineId: string; quantity: number }[];
  }[] = [];
  /** Replacement orders made (one per idempotency key), when `replacement` is among the capabilities. */
  replacements: {
    id: string;
    key: string;
    order: string;
    lines: { externalLineId: string; quantity: number }[];
  }[] = [];
  calls: string[] = [];
  /** Next calls fail like this (consumed one by one). */
  failures: PlatformError[] = [];
  /**
   * Awaited at the start of every listOrders / getOrder call, before the platform answers: a test acts there
   * while a sync job is mid-run (the job has read the connection, and waits for the platform).
   */
  beforeListOrders: ((q: Parameters<PlatformClient['listOrders']>[0]) => Promise<unknown>) | null = null;
  beforeGetOrder: (() => Promise<unknown>) | null = null;
  /**
   * Awaited after the platform has read its answer, before the caller gets it: a test changes the order there,
   * so the answer on its way is older than the change.
   */
  afterRead: (() => Promise<unknown>) | null = null;
  /** Awaited when an order action (cancel, address change) arrives, before the platform changes anything. */
  beforeAction: (() => Promise<unknown>) | null = null;
  /** Pages no larger than this, whatever the caller asks (platforms cap page sizes). */
  maxPageSize = Number.POSITIVE_INFINITY;
  /** The platform refunds, then the answer is lost (as in a crash or timeout). */
  loseNextRefundAnswer = false;
  capabilities: (
    | 'read_orders'
    | 'webhooks'
    | 'refund'
    | 'replacement'
    | 'cancel_order'
    | 'change_shipping_address'
  )[] = ['read_orders', 'webhooks', 'refund'];

  constructor(readonly id = 'fake') {}

  put(doc: OrderInputT, updatedAt = new Date()) {
    this.orders.set(doc.external_id as string, { ...doc, updated_at: updatedAt.toISOString() });
  }

  sign(body: string, secret = 'whsec-fake') {
    return createHmac('sha256', secret).update(body).digest('base64');
  }

  connector(): PlatformConnector {
    const self = this;
    return {
      manifest: {
        id: this.id,
        name: 'Fake platform',
        get capabilities() {
          return self.capabilities;
        },
        settingsFields: [{ key: 'store', label: 'Store name' }],
        credentialFields: [
          { key: 'token', label: 'Token' },
          { key: 'webhook_secret', label: 'Webhook secret' },
        ],
      },
      create(conn): PlatformClient {
        const guard = (op: string) => {
          self.calls.push(op);
          if (conn.credentials.token !== 'good-token')
            throw new PlatformError('auth_failed', 'The token was refused.');
          const f = self.failures.shift();
          if (f) throw f;
        };
        return {
          async testConnection() {
            guard('testConnection');
            return { shopName: `Fake ${conn.settings.store}` };
          },
          async listOrders(query) {
            await self.beforeListOrders?.(query);
            guard('listOrders');
            const q = { ...query, pageSize: Math.min(query.pageSize, self.maxPageSize) };
            const all = [...self.orders.values()]
              .filter((o) => (q.createdSince ? o.placed_at >= q.createdSince.toISOString() : true))
              .filter((o) => (q.updatedSince ? o.updated_at >= q.updatedSince.toISOString() : true))
              .sort((a, b) => (a.external_id as string).localeCompare(b.external_id as string));
            const start = q.cursor ? Number(q.cursor) : 0;
            const page = all.slice(start, start + q.pageSize).map(({ updated_at: _u, ...o }) => o);
            const answer = {
              orders: structuredClone(page),
              nextCursor: start + q.pageSize < all.length ? String(start + q.pageSize) : null,
            };
            await self.afterRead?.();
            return answer;
          },
          async getOrder(externalId) {
            await self.beforeGetOrder?.();
            guard('getOrder');
            const o = self.orders.get(externalId);
            if (!o) return null;
            const { updated_at: _u, ...doc } = structuredClone(o);
            await self.afterRead?.();
            return doc;
          },
          verifyWebhook(raw, headers) {
            const sig = headers['x-fake-signature'];
            if (typeof sig !== 'string') return null;
            const expected = Buffer.from(self.sign(raw.toString('utf8'), conn.credentials.webhook_secret));
            const given = Buffer.from(sig);
            if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
            const body = JSON.parse(raw.toString('utf8')) as { order_id?: string };
            return {
              eventId: String(headers['x-fake-event-id']),
              topic: String(headers['x-fake-topic'] ?? 'orders/updated'),
              orderExternalId: body.order_id ?? null,
            };
          },
          async refund(input) {
            guard('refund');
            const existing = self.refunds.find((r) => r.key === input.idempotencyKey);
            if (existing) return { externalId: existing.id, amount: 100, currency: 'EUR' };
            const r = {
              id: `refund-${self.refunds.length + 1}`,
              key: input.idempotencyKey,
              order: input.orderExternalId,
              lines: input.lines,
            };
            self.refunds.push(r);
            if (self.loseNextRefundAnswer) {
              self.loseNextRefundAnswer = false;
              throw new PlatformError('unavailable', 'connection reset after the refund was made');
            }
            return { externalId: r.id, amount: 100, currency: 'EUR' };
          },
          // Order actions, with the capabilities `cancel_order` / `change_shipping_address`: the order changes here
          // (and its updated_at), as a platform's would.
          ...(self.capabilities.includes('cancel_order') && {
            async cancelOrder(input: { orderExternalId: string; reason: string }) {
              await self.beforeAction?.();
              guard('cancelOrder');
              const o = self.orders.get(input.orderExternalId);
              if (!o) throw new PlatformError('not_found', 'No such order.');
              self.put({ ...o, cancelled_at: new Date().toISOString() });
              return { externalRef: `cancel-${input.orderExternalId}` };
            },
          }),
          ...(self.capabilities.includes('change_shipping_address') && {
            async changeShippingAddress(input: { orderExternalId: string; address: AddressInputT }) {
              await self.beforeAction?.();
              guard('changeShippingAddress');
              const o = self.orders.get(input.orderExternalId);
              if (!o) throw new PlatformError('not_found', 'No such order.');
              self.put({ ...o, shipping_address: input.address });
              return { externalRef: null };
            },
          }),
          async createReplacement(input) {
            guard('createReplacement');
            const existing = self.replacements.find((r) => r.key === input.idempotencyKey);
            if (existing) return { externalId: existing.id, orderNumber: existing.id };
            const r = {
              id: `replacement-${self.replacements.length + 1}`,
              key: input.idempotencyKey,
              order: input.orderExternalId,
              lines: input.lines,
            };
            self.replacements.push(r);
            return { externalId: r.id, orderNumber: r.id };
          },
        };
      },
    };
  }
}

/**
 * The backfill tests' orders: 150 placed 3 days ago and 60 placed 200 days ago (a 10-day backfill imports 150, a
 * 365-day one 210), external ids `<prefix>-001…`, order numbers from `firstNumber + 1`.
 */
export function putBackfillOrders(fake: FakePlatform, prefix: string, firstNumber: number) {
  for (let i = 1; i <= 210; i++)
    fake.put(
      orderDoc({
        external_id: `${prefix}-${String(i).padStart(3, '0')}`,
        order_number: String(firstNumber + i),
        placed_at: daysAgo(i <= 150 ? 3 : 200),
      }),
    );
}

/** PUT …/connection body of a FakePlatform with working credentials and a 10-day backfill. */
export const fakeConnection = (fake: FakePlatform) => ({
  platform: fake.id,
  settings: { store: 'acme' },
  credentials: { token: 'good-token', webhook_secret: 'whsec-fake' },
  backfill_days: 10,
});
