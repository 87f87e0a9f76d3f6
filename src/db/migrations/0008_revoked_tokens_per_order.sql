ALTER TABLE "revoked_tokens" DROP CONSTRAINT "revoked_tokens_shop_id_token_id_pk";--> statement-breakpoint
-- Every revocation was written with its order; a row without one would match no link under the new key.
DELETE FROM "revoked_tokens" WHERE "order_id" IS NULL;--> statement-breakpoint
ALTER TABLE "revoked_tokens" ALTER COLUMN "order_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "revoked_tokens" ADD CONSTRAINT "revoked_tokens_shop_id_order_id_token_id_pk" PRIMARY KEY("shop_id","order_id","token_id");