import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { type FieldInfo, plainErrors } from './errors';

/**
 * An error as people read it: the server's sentence, and each field error as "Field name: what to do" (never a
 * JSON pointer or a pattern). `fields` names the page's fields; without it a field is named by its path.
 */
export function ErrorBox({
  error,
  fields,
}: {
  error: ApiError | Error | null;
  fields?: (path: string) => FieldInfo | undefined;
}) {
  if (!error) return null;
  const details = 'errors' in error && error.errors.length ? plainErrors(error.errors, fields) : [];
  return (
    <div className="alert alert-error" role="alert">
      {error.message}
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d.path + d.message}>
              {d.name ? `${d.name}: ` : ''}
              {d.message}
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
