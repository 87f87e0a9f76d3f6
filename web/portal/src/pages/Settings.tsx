import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Shop } from '../App';
import type { Me } from '../api';
import { ErrorBox, Loading, Notice } from '../ui/common';
import { navigate, onLink } from '../ui/router';
import { useTitle } from '../ui/title';
import { BrandingTab } from './settings/BrandingTab';
import { ConnectionTab } from './settings/ConnectionTab';
import { type Doc, DocContext } from './settings/fields';
import { KeysTab } from './settings/KeysTab';
import { LanguagesTab } from './settings/LanguagesTab';
import { LockoutsTab } from './settings/LockoutsTab';
import { noFlowOffered, settingsField } from './settings/model';
import { ResolveTab } from './settings/ResolveTab';
import { TeamTab } from './settings/TeamTab';
import { ConfirmDialog } from './settings/ui';
import { type SettingsDoc, useSettingsDoc } from './settings/useSettingsDoc';
import { WebhooksTab } from './settings/WebhooksTab';

const TABS = [
  ['resolve', 'Flows and reasons'],
  ['branding', 'Branding'],
  ['languages', 'Languages'],
  ['keys', 'API keys'],
  ['team', 'Team'],
  ['webhooks', 'Webhooks'],
  ['connection', 'Shop connection'],
  ['lockouts', 'Locked lookups'],
] as const;
type Tab = (typeof TABS)[number][0];
const DOC_TABS: Tab[] = ['resolve', 'branding', 'languages'];

export function Settings({ shop, tab, me }: { shop: Shop; tab: string; me: Me }) {
  const known = TABS.find(([t]) => t === tab);
  useEffect(() => {
    if (!known) navigate(`/portal/${shop.slug}/settings/resolve`, true);
  }, [known, shop.slug]);
  const doc = useSettingsDoc(shop.slug);
  const isAdmin = shop.role === 'admin';
  useLeaveGuard(doc.changes > 0, `/portal/${shop.slug}/settings/`);
  const current = TABS.find(([t]) => t === tab)?.[1] ?? 'Settings';
  useTitle(current, 'Settings');
  if (!known) return <Loading />;
  const t = tab as Tab;

  return (
    <section aria-labelledby="settings-title" className="settings">
      <div className="page-head">
        <h1 id="settings-title">Settings</h1>
        {doc.changes > 0 && DOC_TABS.includes(t) && (
          <span className="badge badge-pending" data-testid="unsaved">
            Unsaved changes
          </span>
        )}
      </div>
      <nav className="tab-links" aria-label="Settings sections">
        {TABS.map(([key, text]) => (
          <a
            key={key}
            href={`/portal/${shop.slug}/settings/${key}`}
            onClick={onLink}
            aria-current={key === t ? 'page' : undefined}
          >
            {text}
            {((key === 'resolve' && doc.dirty.resolve) || (key === 'branding' && doc.dirty.branding)) && (
              <>
                <span className="dot" aria-hidden="true" title="Unsaved changes" />
                <span className="sr-only">(unsaved changes)</span>
              </>
            )}
          </a>
        ))}
      </nav>
      {!isAdmin && (
        <Notice>
          You have <strong>{shop.role}</strong> access to {shop.name}: you can look at the settings, but only
          an admin can change them.
        </Notice>
      )}
      {DOC_TABS.includes(t) ? (
        <DocTabs tab={t} doc={doc} shop={shop} readOnly={!isAdmin} />
      ) : t === 'connection' ? (
        <ConnectionTab shop={shop} />
      ) : t === 'keys' ? (
        <KeysTab shop={shop} />
      ) : t === 'team' ? (
        <TeamTab shop={shop} me={me} />
      ) : t === 'lockouts' ? (
        <LockoutsTab shop={shop} />
      ) : (
        <WebhooksTab shop={shop} />
      )}
    </section>
  );
}

function DocTabs({
  tab,
  doc,
  shop,
  readOnly,
}: {
  tab: Tab;
  doc: SettingsDoc;
  shop: Shop;
  readOnly: boolean;
}) {
  const { draft, saved, set, errors } = doc;
  const ctx = useMemo<Doc | null>(
    () => (draft ? { draft, saved, set, errors, readOnly } : null),
    [draft, saved, set, errors, readOnly],
  );
  // A save that would leave customers no flow to choose asks first (it was not so before).
  const [asking, setAsking] = useState(false);
  const { save: saveNow } = doc;
  const save = useCallback(async () => {
    if (doc.draft && doc.saved && noFlowOffered(doc.draft) && !noFlowOffered(doc.saved)) {
      setAsking(true);
      return false;
    }
    return saveNow();
  }, [doc.draft, doc.saved, saveNow]);
  // Ctrl+S (or ⌘S) saves from anywhere on these tabs.
  useEffect(() => {
    if (readOnly) return;
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void save();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [readOnly, save]);
  if (doc.loadError) return <ErrorBox error={doc.loadError} />;
  if (!ctx) return <Loading />;
  return (
    <DocContext.Provider value={ctx}>
      <form
        noValidate
        aria-label={`${TABS.find(([k]) => k === tab)?.[1]} settings`}
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {tab === 'resolve' ? (
          <ResolveTab />
        ) : tab === 'branding' ? (
          <BrandingTab shop={shop} dirty={doc.dirty.branding} />
        ) : (
          <LanguagesTab shop={shop} />
        )}
        {!readOnly ? (
          <SaveBar doc={doc} tab={tab} />
        ) : (
          <ErrorBox error={doc.saveError} fields={(p) => settingsField(p, doc.draft ?? undefined)} />
        )}
      </form>
      {asking && (
        <ConfirmDialog
          title="Offer no flow at all?"
          message={
            <p>
              Customers will not be able to report any problem: every flow is turned off, so the customer page
              offers nothing to choose. Turn at least one flow back on to keep taking claims.
            </p>
          }
          confirmText="Save with no flow offered"
          onConfirm={saveNow}
          onClose={() => setAsking(false)}
        />
      )}
    </DocContext.Provider>
  );
}

function SaveBar({ doc, tab }: { doc: SettingsDoc; tab: Tab }) {
  const e = doc.saveError;
  const invalid = e?.key === 'validation_failed' && e.errors.length > 0;
  return (
    <div className="savebar" data-testid="savebar">
      {e && (
        <div className="alert alert-error" role="alert">
          {invalid
            ? `${e.errors.length === 1 ? 'One setting needs' : `${e.errors.length} settings need`} a change before saving:`
            : e.message}
          {e.status === 403 && (
            <>
              {' '}
              Your role may have changed since you opened the portal.{' '}
              <button type="button" className="button small" onClick={() => location.reload()}>
                Reload
              </button>
            </>
          )}
          {e.errors.length > 0 && (
            <ul>
              {e.errors.map((x) => (
                <li key={x.path + x.message}>
                  <ErrorLink
                    key={tab}
                    path={x.path}
                    name={settingsField(x.path, doc.draft ?? undefined).name}
                  />
                  : {x.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="row">
        <span role="status" className="savebar-status">
          {doc.saving
            ? 'Saving…'
            : doc.changes > 0
              ? `${doc.changes} unsaved change${doc.changes === 1 ? '' : 's'}`
              : doc.savedAt
                ? 'All changes saved.'
                : 'No changes.'}
        </span>
        <span className="muted small savebar-hint">Ctrl+S saves</span>
        <span className="grow-spacer" />
        <button type="button" className="button" disabled={!doc.changes || doc.saving} onClick={doc.discard}>
          Discard
        </button>
        <button type="submit" className="button primary" disabled={!doc.changes || doc.saving}>
          Save changes
        </button>
      </div>
    </div>
  );
}

/** The field an error names, in words, as a link that takes you there (if it is on this tab). */
function ErrorLink({ path, name }: { path: string; name: string }) {
  const [id, setId] = useState<string | null>(null);
  // The field itself, else the closest field that holds it (a line of the origins list is in its textarea).
  useEffect(() => {
    const steps = path.split('/').filter(Boolean);
    for (let n = steps.length; n > 0; n--) {
      const candidate = `f-${steps.slice(0, n).join('-')}`;
      if (document.getElementById(candidate)) return setId(candidate);
    }
    setId(null);
  }, [path]);
  if (!id) return <strong>{name}</strong>;
  // A link rather than a button: a long name wraps with the sentence after it.
  return (
    <a
      href={`#${id}`}
      onClick={(e) => {
        e.preventDefault();
        const el = document.getElementById(id);
        el?.scrollIntoView({ block: 'center' });
        el?.focus();
      }}
    >
      {name}
    </a>
  );
}

/**
 * Unsaved settings survive switching settings tabs; a link out of the settings asks first (reloading or
 * closing the page is covered by the browser's own beforeunload prompt).
 */
function useLeaveGuard(dirty: boolean, inside: string) {
  useEffect(() => {
    if (!dirty) return;
    const guard = (e: MouseEvent) => {
      const a = (e.target as Element | null)?.closest?.('a[href]');
      if (!a || a.getAttribute('target') === '_blank' || a.hasAttribute('download')) return;
      const href = a.getAttribute('href') ?? '';
      // Links within the settings, and to a field on this page, do not leave.
      if (href.startsWith(inside) || href.startsWith('#')) return;
      if (!confirm('You have unsaved changes in the settings. Leave without saving them?')) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    };
    document.addEventListener('click', guard, true);
    return () => document.removeEventListener('click', guard, true);
  }, [dirty, inside]);
}
