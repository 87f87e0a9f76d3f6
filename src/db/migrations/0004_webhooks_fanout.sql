-- Webhook fan-out, in the same transaction as every event (see src/webhooks/fanout.ts): each row inserted into
-- `events` gets a `webhooks.fanout` job row when its shop has an enabled webhook endpoint. It covers every writer
-- of events (emitEvent() and claim creation's single-statement insert), so none can be missed. The job id reuses
-- the event id's time-sortable part, so it is unique per event.
CREATE FUNCTION webhooks_enqueue_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE shop_id = NEW.shop_id AND status = 'enabled') THEN
    INSERT INTO jobs (id, type, shop_id, payload, max_attempts)
    VALUES ('job_' || substr(NEW.id, 5), 'webhooks.fanout', NEW.shop_id, jsonb_build_object('event_id', NEW.id), 25)
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER events_webhooks_fanout AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION webhooks_enqueue_fanout();
