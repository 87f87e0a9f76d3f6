import { type FormEvent, useState } from 'react';
import { ApiError, api, type Me } from '../api';

export function Login({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const [email, setEmail] = useState('');
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
  return (
    <main className="centered">
      <form className="card login" onSubmit={submit}>
        <h1>Sign in to Resolve</h1>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          value={email}
          required
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          value={password}
          required
          onChange={(e) => setPassword(e.target.value)}
        />
        {error && (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        )}
        <button className="button primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          Forgot your password? An operator can reset it: npx resolve user reset-password --email …
        </p>
      </form>
    </main>
  );
}
