import { type ReactNode, useEffect, useId, useRef } from 'react';
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

/**
 * A modal dialog (the native one: the page behind is inert, focus stays inside), labelled by its title. On
 * opening, focus goes to the field marked data-autofocus (else the first field or button); on closing, back to
 * where it was. Escape calls onCancel; without onCancel the dialog cannot be dismissed that way.
 */
export function Modal({
  title,
  children,
  onCancel,
  className = 'confirm',
}: {
  title: string;
  children: ReactNode;
  onCancel?(): void;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = dialog.current;
    const before = document.activeElement as HTMLElement | null;
    if (d && !d.open) d.showModal();
    (
      d?.querySelector<HTMLElement>('[data-autofocus]') ??
      d?.querySelector<HTMLElement>('input:not([type=hidden]):not([disabled]), textarea, select, button')
    )?.focus();
    return () => {
      d?.close();
      if (before?.isConnected) before.focus();
    };
  }, []);
  return (
    <dialog
      ref={dialog}
      className={className}
      aria-labelledby={`${id}-t`}
      aria-modal="true"
      onCancel={(e) => {
        e.preventDefault();
        onCancel?.();
      }}
    >
      <h2 id={`${id}-t`}>{title}</h2>
      {children}
    </dialog>
  );
}
