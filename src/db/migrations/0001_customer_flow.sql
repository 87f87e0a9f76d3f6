CREATE TABLE "claim_evidence" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"claim_id" text NOT NULL,
	"upload_id" text NOT NULL,
	"kind" text NOT NULL,
	"line_item_id" text,
	"content_type" text NOT NULL,
	"size" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "claim_history" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"claim_id" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"changes" jsonb NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "claim_items" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"claim_id" text NOT NULL,
	"line_item_id" text NOT NULL,
	"shipment_id" text,
	"sku" text,
	"title" text NOT NULL,
	"variant_title" text,
	"quantity" integer NOT NULL,
	"unit_net_price" bigint NOT NULL,
	"image_url" text
);
--> statement-breakpoint
CREATE TABLE "claims" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"number" text NOT NULL,
	"order_id" text NOT NULL,
	"shipment_id" text,
	"flow" text NOT NULL,
	"reason" text NOT NULL,
	"description" text,
	"resolution_preference" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"channel" text NOT NULL,
	"language" text,
	"dropoff_permission" boolean,
	"answers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"context" jsonb NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"assignee" text,
	"idempotency_key" text,
	"request_hash" text,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"type" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"subject_id" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"bucket" text PRIMARY KEY NOT NULL,
	"shop_id" text,
	"hits" integer NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "resolve_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"shop_id" text NOT NULL,
	"order_id" text NOT NULL,
	"level" text NOT NULL,
	"token_id" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "revoked_tokens" (
	"shop_id" text NOT NULL,
	"token_id" text NOT NULL,
	"order_id" text,
	"revoked_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "revoked_tokens_shop_id_token_id_pk" PRIMARY KEY("shop_id","token_id")
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"order_id" text NOT NULL,
	"session_id" text,
	"storage_key" text NOT NULL,
	"content_type" text NOT NULL,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"claim_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "tokens_valid_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shops" ADD COLUMN "claim_seq" integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE "claim_evidence" ADD CONSTRAINT "claim_evidence_claim_id_claims_id_fk" FOREIGN KEY ("claim_id") REFERENCES "public"."claims"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_history" ADD CONSTRAINT "claim_history_claim_id_claims_id_fk" FOREIGN KEY ("claim_id") REFERENCES "public"."claims"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_items" ADD CONSTRAINT "claim_items_claim_id_claims_id_fk" FOREIGN KEY ("claim_id") REFERENCES "public"."claims"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "claim_evidence_claim_idx" ON "claim_evidence" USING btree ("claim_id");--> statement-breakpoint
CREATE INDEX "claim_history_claim_idx" ON "claim_history" USING btree ("claim_id","id");--> statement-breakpoint
CREATE INDEX "claim_items_claim_idx" ON "claim_items" USING btree ("claim_id");--> statement-breakpoint
CREATE INDEX "claim_items_line_idx" ON "claim_items" USING btree ("shop_id","line_item_id");--> statement-breakpoint
CREATE UNIQUE INDEX "claims_shop_number_uq" ON "claims" USING btree ("shop_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "claims_idempotency_uq" ON "claims" USING btree ("shop_id","order_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "claims_shop_created_idx" ON "claims" USING btree ("shop_id","id");--> statement-breakpoint
CREATE INDEX "claims_shop_order_idx" ON "claims" USING btree ("shop_id","order_id");--> statement-breakpoint
CREATE INDEX "claims_shop_status_idx" ON "claims" USING btree ("shop_id","status","id");--> statement-breakpoint
CREATE INDEX "events_shop_idx" ON "events" USING btree ("shop_id","id");--> statement-breakpoint
CREATE INDEX "events_subject_idx" ON "events" USING btree ("shop_id","subject_id");--> statement-breakpoint
CREATE INDEX "rate_limits_shop_locked_idx" ON "rate_limits" USING btree ("shop_id","locked_until");--> statement-breakpoint
CREATE UNIQUE INDEX "resolve_sessions_token_uq" ON "resolve_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "resolve_sessions_expiry_idx" ON "resolve_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "uploads_shop_order_idx" ON "uploads" USING btree ("shop_id","order_id");--> statement-breakpoint
CREATE INDEX "uploads_unattached_idx" ON "uploads" USING btree ("created_at") WHERE claim_id is null;