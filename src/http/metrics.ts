import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  jobsDone: Counter<'type' | 'outcome'>;
  jobDuration: Histogram<'type'>;
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
  };
}
