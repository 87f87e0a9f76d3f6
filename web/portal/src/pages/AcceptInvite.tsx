import { type FormEvent, useState } from 'react';
import { ApiError, api, type Me } from '../api';

export function AcceptInvite({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      onSignedIn(
        await api<Me>('POST', '/v1/portal/invites/accept', { token, password, name: name || undefined }),
      );
    } catch (err) {
      const at = (p: string) => err instanceof ApiError && err.errors.some((e) => e.path.startsWith(p));
      setError(
        err instanceof ApiError && err.key === 'validation_failed' && at('/password')
          ? 'Choose a password of at least 10 characters.'
          : err instanceof ApiError && err.key === 'validation_failed' && at('/token')
            ? 'This invitation link is incomplete. Open the whole link from your invitation, or ask for a new one.'
            : (err as Error).message,
      );
    }
  };
  return (
    <main className="centered">
      <form className="card login" onSubmit={submit}>
        <h1>Join your team on Resolve</h1>
        <label htmlFor="name">Your name</label>
        <input id="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="new-password">Choose a password (at least 10 characters)</label>
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          value={password}
          required
          aria-describedby="new-password-hint"
          onChange={(e) => setPassword(e.target.value)}
        />
        <p className="hint" id="new-password-hint">
          Already on Resolve with this email address? Enter your current password instead.
        </p>
        {error && (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        )}
        <button className="button primary" type="submit">
          Accept invitation
        </button>
      </form>
    </main>
  );
}
