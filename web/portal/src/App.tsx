import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { api, type Me, setCsrf, whenSignedOut } from './api';
import { AcceptInvite } from './pages/AcceptInvite';
import { ClaimDetail } from './pages/ClaimDetail';
import { Claims } from './pages/Claims';
import { Login, SignInAgain } from './pages/Login';
import { OrderDetail } from './pages/orders/OrderDetail';
import { Orders } from './pages/orders/Orders';
import { Loading } from './ui/common';
import { match, navigate, onLink, useLocation } from './ui/router';
import { useTitle } from './ui/title';

export type Shop = Me['shops'][number];

// Loaded when first opened: the charts and the settings editors stay out of the claims list's bundle.
const Analytics = lazy(() => import('./pages/Analytics').then((m) => ({ default: m.Analytics })));
const Settings = lazy(() => import('./pages/Settings').then((m) => ({ default: m.Settings })));

export function App() {
  const loc = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  // The session ended under a signed-in page: it stays mounted (what was typed is kept) under a sign-in dialog.
  const [ended, setEnded] = useState(false);
  const meRef = useRef(me);
  meRef.current = me;

  const signedIn = useCallback((m: Me) => {
    setCsrf(m.csrf_token);
    setMe(m);
  }, []);

  useEffect(() => {
    whenSignedOut(() => (meRef.current ? setEnded(true) : setMe(null)));
    api<Me>('GET', '/v1/portal/me').then(signedIn, () => setMe(null));
  }, [signedIn]);

  if (loc.path.startsWith('/portal/invite'))
    return (
      <AcceptInvite
        onSignedIn={(m) => {
          signedIn(m);
          navigate('/portal', true);
        }}
      />
    );
  if (me === undefined) return <Loading />;
  if (me === null) return <Login onSignedIn={signedIn} />;
  if (me.shops.length === 0)
    return (
      <main className="centered">
        <p>Your account has no shop yet. Ask an admin of a shop to invite you.</p>
      </main>
    );

  const m = /^\/portal\/([^/]+)(\/.*)?$/.exec(loc.path);
  const shop = me.shops.find((s) => s.slug === m?.[1]);
  if (!m) {
    navigate(`/portal/${me.shops[0].slug}/claims`, true);
    return <Loading />;
  }
  if (!shop)
    return (
      <main className="centered">
        <NotFound home={`/portal/${me.shops[0].slug}/claims`} />
      </main>
    );
  const rest = (m[2] ?? '/').replace(/(.)\/+$/, '$1');
  const base = `/portal/${shop.slug}`;
  const detail = match('/claims/:id', rest);
  const order = match('/orders/:id', rest);
  const settings = match('/settings/:tab', rest) ?? (rest === '/settings' ? { tab: 'resolve' } : null);

  const logout = async () => {
    await api('POST', '/v1/portal/logout').catch(() => undefined);
    setEnded(false);
    setMe(null);
    navigate('/portal', true);
  };

  const nav = [
    ['Claims', `${base}/claims`],
    ['Orders', `${base}/orders`],
    ['Analytics', `${base}/analytics`],
    ['Settings', `${base}/settings/resolve`],
  ] as const;

  return (
    <div className="shell">
      <header className="topbar">
        <a className="logo" href={`${base}/claims`} onClick={onLink}>
          Resolve
        </a>
        <nav aria-label="Main">
          {nav.map(([text, href]) => (
            <a
              key={href}
              href={href}
              onClick={onLink}
              aria-current={loc.path.startsWith(href.replace(/\/resolve$/, '')) ? 'page' : undefined}
            >
              {text}
            </a>
          ))}
        </nav>
        <div className="topbar-right">
          <label className="shop-switch">
            <span className="sr-only">Shop</span>
            <select
              aria-label="Shop"
              value={shop.slug}
              onChange={(e) => navigate(`/portal/${e.target.value}/claims`)}
            >
              {me.shops.map((s) => (
                <option key={s.slug} value={s.slug}>
                  {s.name} ({s.role})
                </option>
              ))}
            </select>
          </label>
          <span className="muted small" title={me.user.email}>
            {me.user.name ?? me.user.email}
          </span>
          <button type="button" className="button small" onClick={logout}>
            Sign out
          </button>
        </div>
      </header>
      <main className="content" key={shop.slug}>
        <Suspense fallback={<Loading />}>
          {detail ? (
            <ClaimDetail shop={shop} id={detail.id} me={me} />
          ) : order ? (
            <OrderDetail shop={shop} id={order.id} />
          ) : rest === '/orders' ? (
            <Orders shop={shop} search={loc.search} />
          ) : settings ? (
            <Settings shop={shop} tab={settings.tab} me={me} />
          ) : rest === '/analytics' ? (
            <Analytics shop={shop} search={loc.search} />
          ) : rest === '/' || rest === '/claims' ? (
            <Claims shop={shop} search={loc.search} />
          ) : (
            <NotFound home={`${base}/claims`} />
          )}
        </Suspense>
      </main>
      {ended && (
        <SignInAgain
          email={me.user.email}
          onCancel={() => setEnded(false)}
          onSignedIn={(again) => {
            // Another person's sign-in must not see this one's drafts: start clean.
            if (again.user.id !== me.user.id) return location.reload();
            setCsrf(again.csrf_token);
            setEnded(false);
          }}
        />
      )}
    </div>
  );
}

function NotFound({ home }: { home: string }) {
  useTitle('Page not found');
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>There is no such page in the portal. The address may be mistyped or out of date.</p>
      <p>
        <a href={home} onClick={onLink}>
          Go to the claims list
        </a>
      </p>
    </section>
  );
}
