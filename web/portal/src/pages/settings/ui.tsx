import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { ApiError } from '../../api';
import { ErrorBox, Notice } from '../../ui/common';

/** Copies text; without the async clipboard (insecure origin, no permission) it selects and copies the field. */
async function copyText(text: string, field: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field?.select();
    return document.execCommand?.('copy') ?? false;
  }
}

/** A secret or link shown once: a read-only field, a copy button, and a plain warning. */
export function SecretOnce({
  title,
  label,
  value,
  children,
  onDone,
  testId,
  kept = 'Resolve stores only a hash of it; if it is lost, create a new one.',
}: {
  title: string;
  label: string;
  value: string;
  children?: ReactNode;
  onDone(): void;
  testId?: string;
  /** How Resolve keeps it, truthfully: a hash (keys, invitations) or encrypted (what Resolve must use itself). */
  kept?: string;
}) {
  const field = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);
  const id = useId();
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <section className="alert alert-warning secret-once" aria-labelledby={`${id}-t`} data-testid={testId}>
      <h3 id={`${id}-t`} ref={heading} tabIndex={-1}>
        {title}
      </h3>
      <p>
        <strong>Copy it now: it is shown only this once.</strong> {kept}
      </p>
      <label htmlFor={`${id}-v`}>{label}</label>
      <div className="row">
        <input
          id={`${id}-v`}
          ref={field}
          className="secret-value"
          readOnly
          value={value}
          spellCheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          className="button primary"
          onClick={async () => setCopied(await copyText(value, field.current))}
        >
          Copy
        </button>
      </div>
      <span role="status" className="small">
        {copied === true
          ? 'Copied to the clipboard.'
          : copied === false
            ? 'Select the text and copy it.'
            : ''}
      </span>
      {children}
      <div className="row">
        <button type="button" className="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </section>
  );
}

/**
 * A button that asks first, in a modal dialog (focus stays inside; Escape cancels). The action's error is
 * shown in the dialog, so a refusal such as "last admin" is read where it happened.
 */
export function ConfirmButton({
  children,
  className = 'button small danger',
  title,
  message,
  confirmText,
  onConfirm,
  disabled,
  ariaLabel,
}: {
  children: ReactNode;
  className?: string;
  title: string;
  message: ReactNode;
  confirmText: string;
  onConfirm(): Promise<unknown>;
  disabled?: boolean;
  ariaLabel?: string;
}) {
  const opener = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        ref={opener}
        type="button"
        className={className}
        disabled={disabled}
        aria-label={ariaLabel}
        onClick={() => setOpen(true)}
      >
        {children}
      </button>
      {open && (
        <ConfirmDialog
          title={title}
          message={message}
          confirmText={confirmText}
          onConfirm={onConfirm}
          onClose={() => {
            setOpen(false);
            opener.current?.focus();
          }}
        />
      )}
    </>
  );
}

/**
 * The confirmation itself, for an action that asks only sometimes (a save that would turn everything off):
 * shown while rendered; `onClose` after Cancel, Escape or a confirmed action that succeeded.
 */
export function ConfirmDialog({
  title,
  message,
  confirmText,
  onConfirm,
  onClose,
}: {
  title: string;
  message: ReactNode;
  confirmText: string;
  onConfirm(): Promise<unknown>;
  onClose(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const id = useId();
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);
  return (
    <dialog ref={dialog} className="confirm" aria-labelledby={`${id}-t`} onClose={onClose}>
      <h2 id={`${id}-t`}>{title}</h2>
      <div className="confirm-body">{message}</div>
      <ErrorBox error={error} />
      <div className="row end">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="button danger-solid"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await onConfirm();
              onClose();
            } catch (err) {
              setError(err instanceof ApiError ? err : new ApiError('unknown', String(err), 0));
            } finally {
              setBusy(false);
            }
          }}
        >
          {confirmText}
        </button>
      </div>
    </dialog>
  );
}

/** For pages whose list the server shows to admins only. */
export function AdminOnly({ what }: { what: string }) {
  return (
    <Notice>
      Only admins of this shop can see and manage {what}. Ask an admin to change your role if you need this.
    </Notice>
  );
}

export const dateInputToIso = (d: string) => (d ? new Date(`${d}T23:59:59`).toISOString() : null);
