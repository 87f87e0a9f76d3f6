/**
 * Every Drizzle table, one file per area under ./schema/. Importers and drizzle.config.ts use this barrel;
 * ./schema/columns.ts (column helpers) is deliberately not re-exported.
 */

export * from './schema/claims.js';
export * from './schema/connections.js';
export * from './schema/customer.js';
export * from './schema/jobs.js';
export * from './schema/orders.js';
export * from './schema/shops.js';
export * from './schema/webhooks.js';
