-- The claims search (q, src/claims/filters.ts) matches order number, email and claim number exactly or by their
-- start. The search indexes become text_pattern_ops (byte order whatever the collation), which serve both `=` and
-- `like 'abc%'`, so every interpretation of q stays an index read (a BitmapOr) instead of a scan of the shop.
DROP INDEX "claims_shop_order_number_idx";--> statement-breakpoint
DROP INDEX "claims_shop_email_idx";--> statement-breakpoint
CREATE INDEX "claims_shop_number_prefix_idx" ON "claims" USING btree ("shop_id","number" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "claims_shop_order_number_idx" ON "claims" USING btree ("shop_id","order_number_norm" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "claims_shop_email_idx" ON "claims" USING btree ("shop_id","customer_email" text_pattern_ops);