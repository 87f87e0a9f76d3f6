import type { ReactNode } from 'react';
import type { ApiError } from '../api';

export function ErrorBox({ error }: { error: ApiError | Error | null }) {
  if (!error) return null;
  const details = 'errors' in error && error.errors.length ? error.errors : [];
  return (
    <div className="alert alert-error" role="alert">
      {error.message}
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d.path + d.message}>
              <code>{d.path}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({
  kind = 'info',
  children,
}: {
  kind?: 'info' | 'success' | 'warning';
  children: ReactNode;
}) {
  return (
    <div className={`alert alert-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Loading() {
  return (
    <p className="muted" role="status">
      Loading…
    </p>
  );
}

export function Badge({ value, kind }: { value: string; kind?: string }) {
  return <span className={`badge badge-${kind ?? value}`}>{value.replace(/_/g, ' ')}</span>;
}
