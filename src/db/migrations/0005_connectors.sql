CREATE TABLE "claim_actions" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"claim_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"lines" jsonb NOT NULL,
	"include_shipping" boolean DEFAULT false NOT NULL,
	"note" text,
	"amount" bigint,
	"currency" text,
	"external_id" text,
	"external_number" text,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_by" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform_events" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"event_id" text NOT NULL,
	"topic" text NOT NULL,
	"order_external_id" text,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'received' NOT NULL,
	"error" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "shop_connections" (
	"id" text PRIMARY KEY NOT NULL,
	"shop_id" text NOT NULL,
	"platform" text NOT NULL,
	"settings" jsonb NOT NULL,
	"credentials_sealed" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"last_error" text,
	"sync" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "claim_actions" ADD CONSTRAINT "claim_actions_claim_id_claims_id_fk" FOREIGN KEY ("claim_id") REFERENCES "public"."claims"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "platform_events" ADD CONSTRAINT "platform_events_connection_id_shop_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."shop_connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_connections" ADD CONSTRAINT "shop_connections_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "claim_actions_claim_idx" ON "claim_actions" USING btree ("shop_id","claim_id");--> statement-breakpoint
CREATE UNIQUE INDEX "platform_events_dedupe_uq" ON "platform_events" USING btree ("connection_id","event_id");--> statement-breakpoint
CREATE INDEX "platform_events_shop_idx" ON "platform_events" USING btree ("shop_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "shop_connections_shop_uq" ON "shop_connections" USING btree ("shop_id");