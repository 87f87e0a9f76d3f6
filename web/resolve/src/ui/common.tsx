import { type ReactNode, useEffect, useRef } from 'react';

let firstScreen = true;

/**
 * A step's heading takes the focus when the step appears, so screen readers and keyboards start there.
 * The first screen keeps the browser's own starting point. `describedBy`: what is read with it when it takes the
 * focus (where the customer is: the order, the step count), shown next to it.
 */
export function Heading({
  children,
  level = 2,
  describedBy,
}: {
  children: ReactNode;
  level?: 1 | 2;
  describedBy?: string;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstScreen) firstScreen = false;
    else ref.current?.focus({ preventScroll: false });
  }, []);
  const Tag = level === 1 ? 'h1' : 'h2';
  return (
    <Tag ref={ref} tabIndex={-1} className="heading" aria-describedby={describedBy}>
      {children}
    </Tag>
  );
}

export function Alert({
  kind = 'error',
  children,
  testId,
  id,
}: {
  kind?: 'error' | 'info' | 'success' | 'warning';
  children: ReactNode;
  testId?: string;
  /** Set when the page may move the focus here (the alert is then focusable by script). */
  id?: string;
}) {
  return (
    <div
      id={id}
      tabIndex={id ? -1 : undefined}
      className={`alert alert-${kind}`}
      role={kind === 'error' ? 'alert' : 'status'}
      data-testid={testId}
    >
      {children}
    </div>
  );
}

/** A field's message: announced when it appears (role="alert"), and focusable when no field can take the focus. */
export function FieldError({ id, text }: { id: string; text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p id={id} className="field-error" role="alert" tabIndex={-1}>
      {text}
    </p>
  );
}

/**
 * Moves the focus after React has drawn the change (a button that disappears or is replaced would leave it on
 * the page's body): to the first of `targets` (an element id, an element, or a function finding one) present.
 */
export function focusSoon(...targets: (string | (() => Element | null | undefined))[]): void {
  let frames = 0;
  const attempt = () => {
    for (const x of targets) {
      const el = typeof x === 'string' ? document.getElementById(x) : x();
      if (el instanceof HTMLElement && el.isConnected) return el.focus();
    }
    // Drawn after an answer of the server: a few frames later.
    if (++frames < 20) requestAnimationFrame(attempt);
  };
  requestAnimationFrame(attempt);
}

/** The first invalid field (or, failing that, the first message) in `root`, after a refused Continue. */
export function focusFirstError(root: ParentNode | null | undefined): void {
  focusSoon(
    () => root?.querySelector('[aria-invalid="true"]:not([type="file"])'),
    () => root?.querySelector('.field-error'),
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <p className="spinner" role="status">
      <span aria-hidden="true" className="spinner-dot" />
      {label}
    </p>
  );
}
