-- A line or shipment that a document drops while a claim names it is kept, marked removed (src/orders/upsert.ts):
-- deleting it lost the claim's line (refunds refused) and let the same units be claimed again once the line came
-- back under a new id. Order views and eligibility skip removed rows (src/orders/read.ts, childrenColumns).
ALTER TABLE "line_items" ADD COLUMN "removed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shipments" ADD COLUMN "removed_at" timestamp with time zone;