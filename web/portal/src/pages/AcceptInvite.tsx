import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, type Me } from '../api';
import { useTitle } from '../ui/title';

export function AcceptInvite({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  // What the invitation is for (shop, email, role, an account already?); null while unknown.
  const [about, setAbout] = useState<Invite | null>(null);
  const [gone, setGone] = useState<string | null>(null);
  useTitle(about ? `Join ${about.shop_name}` : 'Join your team');
  useEffect(() => {
    if (!token) return;
    api<Invite>('GET', `/v1/portal/invite?token=${encodeURIComponent(token)}`).then(setAbout, (err) => {
      if (err instanceof ApiError && (err.key === 'invite_invalid' || err.key === 'validation_failed'))
        setGone(
          err.key === 'invite_invalid'
            ? 'This invitation was used, revoked or has expired. Ask the person who invited you for a new one.'
            : 'This invitation link is incomplete. Open the whole link from your invitation, or ask for a new one.',
        );
    });
  }, [token]);
  const existing = about?.has_account === true;
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
  if (gone || !token)
    return (
      <main className="centered">
        <div className="card login">
          <h1>Join your team on Resolve</h1>
          <p className="alert alert-error" role="alert">
            {gone ??
              'This invitation link is incomplete. Open the whole link from your invitation, or ask for a new one.'}
          </p>
        </div>
      </main>
    );
  return (
    <main className="centered">
      <form className="card login" onSubmit={submit}>
        <h1>{about ? `Join ${about.shop_name} on Resolve` : 'Join your team on Resolve'}</h1>
        {about && (
          <p data-testid="invite-for">
            Invited as {ROLE_NAMES[about.role] ?? about.role}: <strong>{about.email}</strong>
          </p>
        )}
        {!existing && (
          <>
            <label htmlFor="name">Your name</label>
            <input id="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
          </>
        )}
        <label htmlFor="new-password">
          {existing ? 'Your current Resolve password' : 'Choose a password (at least 10 characters)'}
        </label>
        <input
          id="new-password"
          type="password"
          autoComplete={existing ? 'current-password' : 'new-password'}
          minLength={existing ? undefined : 10}
          value={password}
          required
          aria-describedby="new-password-hint"
          onChange={(e) => setPassword(e.target.value)}
        />
        <p className="hint" id="new-password-hint">
          {existing
            ? `${about.email} has a Resolve account already: its password adds ${about.shop_name} to it.`
            : about
              ? `You will sign in with ${about.email} and this password.`
              : 'Already on Resolve with this email address? Enter your current password instead.'}
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

interface Invite {
  shop_name: string;
  email: string;
  role: string;
  has_account: boolean;
  expires_at: string;
}
const ROLE_NAMES: Record<string, string> = { viewer: 'Viewer', agent: 'Agent', admin: 'Admin' };
