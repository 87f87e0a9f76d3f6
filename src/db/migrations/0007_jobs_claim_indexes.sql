-- Job queue indexes that keep claiming constant-time however long the backlog (src/jobs/queue.ts): due jobs are
-- read in run_at order from an index of queued jobs only, expired leases from an index of running jobs only (the
-- old "queued or running" index made each claim a bitmap of the whole ready set plus a sort, and the lease check
-- a scan of it). A webhook fan-out takes over its shop's queued fan-outs through their own index
-- (src/webhooks/fanout.ts). Jobs without a unique key, nearly all of them, leave the unique index alone.
DROP INDEX "jobs_ready_idx";--> statement-breakpoint
DROP INDEX "jobs_unique_key_uq";--> statement-breakpoint
CREATE INDEX "jobs_queued_idx" ON "jobs" USING btree ("run_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_lease_idx" ON "jobs" USING btree ("locked_until") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "jobs_fanout_idx" ON "jobs" USING btree ("shop_id","run_at") WHERE type = 'webhooks.fanout' and status = 'queued';--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_unique_key_uq" ON "jobs" USING btree ("unique_key") WHERE unique_key is not null;
