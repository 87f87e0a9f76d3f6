-- The hourly maintenance scan for claim actions that stayed pending with no job carrying them out
-- (settleOrphanedActions, src/actions/settle.ts) reads pending actions by age: a partial index over pending rows
-- only, which stay few however many actions have finished.
CREATE INDEX "claim_actions_pending_idx" ON "claim_actions" USING btree ("updated_at") WHERE status = 'pending';