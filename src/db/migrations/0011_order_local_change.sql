-- When the customer last changed an order through Resolve (cancel, address change; src/resolve/order-actions.ts).
-- A platform sync that read the order before that instant does not write its document over the change
-- (src/orders/upsert.ts, readAt); it reads the order again (connector.refresh, src/connectors/sync.ts).
ALTER TABLE "orders" ADD COLUMN "local_change_at" timestamp with time zone;
