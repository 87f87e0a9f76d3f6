import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  jobsDone: Counter<'type' | 'outcome'>;
  jobDuration: Histogram<'type'>;
  webhookDeliveries: Counter<'outcome'>;
  webhookFailures: Counter<'kind'>;
  webhookQueueLag: Histogram;
  webhookAttemptDuration: Histogram;
  webhookEndpointsDisabled: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'resolve_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'resolve_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    jobsDone: new Counter({
      name: 'resolve_jobs_total',
      help: 'Jobs run by the worker, by type and outcome.',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'resolve_job_duration_seconds',
      help: 'Job handler duration.',
      labelNames: ['type'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'resolve_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retrying (failed, another attempt is scheduled) or failed (given up: retries used up, 410, or the endpoint is disabled).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookFailures: new Counter({
      name: 'resolve_webhook_failures_total',
      help: 'Failed webhook attempts by kind (http_status, timeout, tls, refused_destination, connection, dns, redirect, proxy, connect_timeout).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    webhookQueueLag: new Histogram({
      name: 'resolve_webhook_queue_lag_seconds',
      help: 'How late a webhook attempt started after it was due (fan-out or scheduled retry).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
      registers: [registry],
    }),
    webhookAttemptDuration: new Histogram({
      name: 'resolve_webhook_attempt_duration_seconds',
      help: 'Duration of webhook attempts (connect, send, response).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [registry],
    }),
    webhookEndpointsDisabled: new Counter({
      name: 'resolve_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled by the worker, by reason (gone: 410; failing: 5 days of failures).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
