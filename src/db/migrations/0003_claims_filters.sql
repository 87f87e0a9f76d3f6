CREATE TABLE "claim_views" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"owner" text NOT NULL,
	"name" text NOT NULL,
	"query" jsonb NOT NULL,
	"shared" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invites" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" text,
	"expires_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portal_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"user_id" text NOT NULL,
	"ip" text,
	"user_agent" text,
	"expires_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shop_notices" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"kind" text NOT NULL,
	"audience" text NOT NULL,
	"title" text NOT NULL,
	"message" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dismissed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"message_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"attempt_number" integer NOT NULL,
	"trigger" text NOT NULL,
	"url" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"status_code" integer,
	"outcome" text NOT NULL,
	"error" text,
	"error_kind" text,
	"response_excerpt" text
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"url" text NOT NULL,
	"description" text,
	"event_types" text[] NOT NULL,
	"status" text DEFAULT 'enabled' NOT NULL,
	"disabled_reason" text,
	"disabled_at" timestamp with time zone,
	"secret_sealed" text NOT NULL,
	"previous_secret_sealed" text,
	"previous_secret_expires_at" timestamp with time zone,
	"secret_rotated_at" timestamp with time zone,
	"failing_since" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_id" text,
	"event_type" text NOT NULL,
	"payload" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"schedule_step" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"last_status_code" integer,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "claims_shop_created_idx";--> statement-breakpoint
DROP INDEX "claims_shop_status_idx";--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "order_number_norm" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "customer_email" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "carrier" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "country_code" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "shipment_phase" text;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "claim_value" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "currency" text;--> statement-breakpoint
-- Backfill the claims' filter columns from their context snapshots, with the rules of
-- src/claims/denormalized.ts (trim = all whitespace, as JS trim() does). Runs before the new indexes exist.
UPDATE "claims" SET
	"order_number_norm" = regexp_replace(
		regexp_replace(lower(regexp_replace(coalesce("context"->>'order_number', ''), '^\s+|\s+$', '', 'g')), '^#+', ''),
		'^\s+|\s+$', '', 'g'),
	"customer_email" = nullif(lower(regexp_replace("context"->'customer'->>'email', '^\s+|\s+$', '', 'g')), ''),
	"carrier" = nullif(lower(regexp_replace("context"->'shipment'->>'carrier', '^\s+|\s+$', '', 'g')), ''),
	"country_code" = nullif(upper(regexp_replace("context"->'shipping_address'->>'country_code', '^\s+|\s+$', '', 'g')), ''),
	"shipment_phase" = "context"->'shipment'->>'phase',
	"claim_value" = coalesce(("context"->>'claim_value')::bigint, 0),
	"currency" = "context"->>'currency';--> statement-breakpoint
ALTER TABLE "claims" ALTER COLUMN "order_number_norm" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "claim_views" ADD CONSTRAINT "claim_views_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invites" ADD CONSTRAINT "invites_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD CONSTRAINT "portal_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_notices" ADD CONSTRAINT "shop_notices_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_message_id_webhook_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."webhook_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_messages" ADD CONSTRAINT "webhook_messages_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "claim_views_owner_name_uq" ON "claim_views" USING btree ("shop_id","owner","name");--> statement-breakpoint
CREATE INDEX "claim_views_shop_shared_idx" ON "claim_views" USING btree ("shop_id","shared");--> statement-breakpoint
CREATE UNIQUE INDEX "invites_token_uq" ON "invites" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "invites_shop_idx" ON "invites" USING btree ("shop_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "portal_sessions_token_uq" ON "portal_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "portal_sessions_user_idx" ON "portal_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "portal_sessions_expiry_idx" ON "portal_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "shop_notices_shop_idx" ON "shop_notices" USING btree ("shop_id","id");--> statement-breakpoint
CREATE INDEX "webhook_attempts_message_idx" ON "webhook_attempts" USING btree ("shop_id","message_id","id");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_shop_idx" ON "webhook_endpoints" USING btree ("shop_id","id");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_enabled_idx" ON "webhook_endpoints" USING btree ("shop_id") WHERE status = 'enabled';--> statement-breakpoint
CREATE INDEX "webhook_messages_endpoint_idx" ON "webhook_messages" USING btree ("shop_id","endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_messages_endpoint_status_idx" ON "webhook_messages" USING btree ("shop_id","endpoint_id","status","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_messages_event_uq" ON "webhook_messages" USING btree ("endpoint_id","event_id");--> statement-breakpoint
CREATE INDEX "claims_shop_updated_idx" ON "claims" USING btree ("shop_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_flow_idx" ON "claims" USING btree ("shop_id","flow","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_carrier_idx" ON "claims" USING btree ("shop_id","carrier","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_country_idx" ON "claims" USING btree ("shop_id","country_code","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_phase_idx" ON "claims" USING btree ("shop_id","shipment_phase","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_assignee_idx" ON "claims" USING btree ("shop_id","assignee","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_order_number_idx" ON "claims" USING btree ("shop_id","order_number_norm");--> statement-breakpoint
CREATE INDEX "claims_shop_email_idx" ON "claims" USING btree ("shop_id","customer_email");--> statement-breakpoint
CREATE INDEX "claims_tags_idx" ON "claims" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "claims_shop_created_idx" ON "claims" USING btree ("shop_id","created_at","id");--> statement-breakpoint
CREATE INDEX "claims_shop_status_idx" ON "claims" USING btree ("shop_id","status","created_at","id");