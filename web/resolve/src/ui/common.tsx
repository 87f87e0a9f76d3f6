import { type ReactNode, useEffect, useRef } from 'react';

let firstScreen = true;

/**
 * A step's heading takes the focus when the step appears, so screen readers and keyboards start there.
 * The first screen keeps the browser's own starting point.
 */
export function Heading({ children, level = 2 }: { children: ReactNode; level?: 1 | 2 }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstScreen) firstScreen = false;
    else ref.current?.focus({ preventScroll: false });
  }, []);
  const Tag = level === 1 ? 'h1' : 'h2';
  return (
    <Tag ref={ref} tabIndex={-1} className="heading">
      {children}
    </Tag>
  );
}

export function Alert({
  kind = 'error',
  children,
  testId,
}: {
  kind?: 'error' | 'info' | 'success' | 'warning';
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {children}
    </div>
  );
}

export function FieldError({ id, text }: { id: string; text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p id={id} className="field-error">
      {text}
    </p>
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
