import { type FormEvent, useState } from 'react';
import { ApiError, api, type Me } from '../api';
import { Modal } from '../ui/common';
import { useTitle } from '../ui/title';

/** The sign-in request (POST /v1/portal/login) and its answer in words, for the page and the dialog. */
function useSignIn(onSignedIn: (me: Me) => void, initialEmail = '') {
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Me>('POST', '/v1/portal/login', { email, password }));
    } catch (err) {
      const a = err instanceof ApiError ? err : null;
      setError(
        a?.key === 'rate_limited'
          ? `Too many attempts. Try again in ${Math.ceil((a.retryAfter ?? 60) / 60)} minute(s).`
          : a?.key === 'invalid_credentials'
            ? 'The email address or password is not correct.'
            : (a?.message ?? 'Sign-in failed.'),
      );
    } finally {
      setBusy(false);
    }
  };
  return { email, setEmail, password, setPassword, error, busy, submit };
}

type SignIn = ReturnType<typeof useSignIn>;

function Fields({ s, prefix, focusPassword }: { s: SignIn; prefix: string; focusPassword?: boolean }) {
  return (
    <>
      <label htmlFor={`${prefix}email`}>Email</label>
      <input
        id={`${prefix}email`}
        type="email"
        autoComplete="username"
        value={s.email}
        required
        onChange={(e) => s.setEmail(e.target.value)}
      />
      <label htmlFor={`${prefix}password`}>Password</label>
      <input
        id={`${prefix}password`}
        type="password"
        autoComplete="current-password"
        value={s.password}
        required
        data-autofocus={focusPassword ? '' : undefined}
        onChange={(e) => s.setPassword(e.target.value)}
      />
      {s.error && (
        <p className="alert alert-error" role="alert">
          {s.error}
        </p>
      )}
    </>
  );
}

export function Login({ onSignedIn }: { onSignedIn(me: Me): void }) {
  useTitle('Sign in');
  const s = useSignIn(onSignedIn);
  return (
    <main className="centered">
      <form className="card login" onSubmit={s.submit}>
        <h1>Sign in to Resolve</h1>
        <Fields s={s} prefix="" />
        <button className="button primary" type="submit" disabled={s.busy}>
          {s.busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          Forgot your password? An operator can reset it: npx resolve user reset-password --email …
        </p>
      </form>
    </main>
  );
}

/**
 * The session ended while the page was open (signed out in another tab, or expired): sign in again over the
 * page, which stays as it was, so nothing typed is lost. The caller decides what a different user means.
 */
export function SignInAgain({
  email,
  onSignedIn,
  onCancel,
}: {
  email: string;
  onSignedIn(me: Me): void;
  onCancel(): void;
}) {
  const s = useSignIn(onSignedIn, email);
  return (
    <Modal title="Your session ended" onCancel={onCancel}>
      <form className="login session-again" onSubmit={s.submit}>
        <p>Sign in again to continue; what you typed is kept.</p>
        <Fields s={s} prefix="again-" focusPassword />
        <div className="row end">
          <button className="button" type="button" onClick={onCancel}>
            Not now
          </button>
          <button className="button primary" type="submit" disabled={s.busy}>
            {s.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
