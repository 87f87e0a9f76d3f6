import { createHmac, timingSafeEqual } from 'node:crypto';
import { type PlatformClient, type PlatformConnector, PlatformError } from '../../src/connectors/platform.js';
import type { OrderInputT } from '../../src/orders/document.js';

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
  /** The platform refunds, then the answer is lost (as in a crash or timeout). */
  loseNextRefundAnswer = false;
  capabilities: ('read_orders' | 'webhooks' | 'refund' | 'replacement')[] = [
    'read_orders',
    'webhooks',
    'refund',
  ];

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
          async listOrders(q) {
            guard('listOrders');
            const all = [...self.orders.values()]
              .filter((o) => (q.createdSince ? o.placed_at >= q.createdSince.toISOString() : true))
              .filter((o) => (q.updatedSince ? o.updated_at >= q.updatedSince.toISOString() : true))
              .sort((a, b) => (a.external_id as string).localeCompare(b.external_id as string));
            const start = q.cursor ? Number(q.cursor) : 0;
            const page = all.slice(start, start + q.pageSize).map(({ updated_at: _u, ...o }) => o);
            return {
              orders: page,
              nextCursor: start + q.pageSize < all.length ? String(start + q.pageSize) : null,
            };
          },
          async getOrder(externalId) {
            guard('getOrder');
            const o = self.orders.get(externalId);
            if (!o) return null;
            const { updated_at: _u, ...doc } = o;
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
