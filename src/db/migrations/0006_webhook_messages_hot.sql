-- A delivery updates its message's status on every attempt: with no index on status those are HOT updates (no
-- index entry rewritten), and free space on each page (fillfactor 70) keeps the new row version on its page.
DROP INDEX IF EXISTS "webhook_messages_endpoint_status_idx";--> statement-breakpoint
ALTER TABLE "webhook_messages" SET (fillfactor = 70);
