import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { type ApiError, api, type Me } from '../../api';
import { Badge, ErrorBox, Loading, Notice } from '../../ui/common';
import { date, dateTime, label } from '../../ui/format';
import { AdminOnly, ConfirmButton, SecretOnce } from './ui';

type Role = 'viewer' | 'agent' | 'admin';
interface Member {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  created_at: string;
}
interface Invite {
  id: string;
  email: string;
  role: Role;
  expires_at: string;
  created_at: string;
}
const ROLES: [Role, string][] = [
  ['viewer', 'Viewer'],
  ['agent', 'Agent'],
  ['admin', 'Admin'],
];
const ROLE_HELP =
  'Viewers read; agents also work claims; admins also manage settings, keys, webhooks and the team.';

/** Portal users of the shop and open invitations. */
export function TeamTab({ shop, me }: { shop: Shop; me: Me }) {
  const base = `/v1/shops/${shop.slug}`;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState('');
  const [link, setLink] = useState<(Invite & { url: string }) | null>(null);
  const isAdmin = shop.role === 'admin';
  const load = useCallback(async () => {
    try {
      const [m, i] = await Promise.all([
        api<{ data: Member[] }>('GET', `${base}/users`),
        api<{ data: Invite[] }>('GET', `${base}/invites`),
      ]);
      setMembers(m.data);
      setInvites(i.data);
    } catch (err) {
      setError(err as ApiError);
    }
  }, [base]);
  useEffect(() => {
    if (isAdmin) void load();
  }, [isAdmin, load]);
  if (!isAdmin) return <AdminOnly what="the team" />;

  const changeRole = async (m: Member, role: Role) => {
    setError(null);
    setStatus('');
    try {
      await api('PATCH', `${base}/users/${m.id}`, { role });
      // Your own role changed: the portal reloads to show what you may do now.
      if (m.id === me.user.id) return location.reload();
      setStatus(`${m.email} is now ${role}.`);
    } catch (err) {
      setError(err as ApiError);
    }
    await load();
  };

  return (
    <div className="settings-stack">
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">People</h2>
        <p className="muted small">{ROLE_HELP}</p>
        <ErrorBox error={error} />
        {status && <Notice kind="success">{status}</Notice>}
        {!members && !error && <Loading />}
        {members && (
          <table className="grid-table" data-testid="members-table">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Member since</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => {
                const self = m.id === me.user.id;
                return (
                  <tr key={m.id} data-testid="member-row">
                    <th scope="row">
                      {m.email}
                      {self && <span className="muted small"> (you)</span>}
                    </th>
                    <td>{m.name ?? <span className="muted">—</span>}</td>
                    <td>
                      <label className="sr-only" htmlFor={`role-${m.id}`}>
                        Role of {m.email}
                      </label>
                      <select
                        id={`role-${m.id}`}
                        value={m.role}
                        onChange={(e) => void changeRole(m, e.target.value as Role)}
                      >
                        {ROLES.map(([v, t]) => (
                          <option key={v} value={v}>
                            {t}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>{date(m.created_at)}</td>
                    <td className="actions">
                      <ConfirmButton
                        title={self ? 'Leave this shop?' : `Remove ${m.email}?`}
                        message={
                          <p>
                            {self
                              ? `You lose access to ${shop.name} and are signed out.`
                              : `${m.email} loses access to ${shop.name} and is signed out everywhere. Their claims history stays.`}
                          </p>
                        }
                        confirmText={self ? 'Leave shop' : 'Remove'}
                        ariaLabel={`Remove ${m.email}`}
                        onConfirm={async () => {
                          await api('DELETE', `${base}/users/${m.id}`);
                          if (self) location.assign('/portal');
                          else {
                            setStatus(`${m.email} was removed.`);
                            await load();
                          }
                        }}
                      >
                        Remove
                      </ConfirmButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      {link && (
        <SecretOnce
          title={`Invitation for ${link.email}`}
          label="Invitation link"
          value={link.url}
          testId="invite-link"
          onDone={() => setLink(null)}
        >
          <p className="small">
            Send this link to {link.email} yourself (Resolve does not email it). It is valid until{' '}
            {dateTime(link.expires_at)} and works once; they choose their password when they accept.
          </p>
        </SecretOnce>
      )}
      <InviteForm
        url={`${base}/invites`}
        onCreated={(i) => {
          setLink(i);
          void load();
        }}
      />

      <section className="card" aria-labelledby="invites-title">
        <h2 id="invites-title">Open invitations</h2>
        {invites && invites.length === 0 && <p className="muted">No open invitations.</p>}
        {invites && invites.length > 0 && (
          <table className="grid-table" data-testid="invites-table">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Sent</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invites.map((i) => (
                <tr key={i.id} data-testid="invite-row">
                  <th scope="row">{i.email}</th>
                  <td>{ROLES.find(([v]) => v === i.role)?.[1] ?? label(i.role)}</td>
                  <td>{dateTime(i.created_at)}</td>
                  <td>
                    {new Date(i.expires_at).getTime() <= Date.now() ? (
                      <span data-testid="invite-expired">
                        <Badge value="expired" kind="pending" /> {dateTime(i.expires_at)}
                      </span>
                    ) : (
                      dateTime(i.expires_at)
                    )}
                  </td>
                  <td className="actions">
                    <ConfirmButton
                      title={`Revoke the invitation for ${i.email}?`}
                      message={<p>The link stops working. You can invite them again later.</p>}
                      confirmText="Revoke invitation"
                      ariaLabel={`Revoke invitation for ${i.email}`}
                      onConfirm={async () => {
                        await api('DELETE', `${base}/invites/${i.id}`);
                        await load();
                      }}
                    >
                      Revoke
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function InviteForm({ url, onCreated }: { url: string; onCreated(i: Invite & { url: string }): void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('agent');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await api<Invite & { url: string }>('POST', url, { email: email.trim(), role }));
      setEmail('');
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <div className="row align-end">
        <div className="sfield grow">
          <label htmlFor="invite-email">Email</label>
          <input
            id="invite-email"
            type="email"
            required
            maxLength={254}
            autoComplete="off"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="sfield">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map(([v, t]) => (
              <option key={v} value={v}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button className="button primary" type="submit" disabled={busy}>
          Create invitation
        </button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}
