import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, ApiError } from './api';
import {
  type Draft,
  type EvidenceKind,
  emptyDraft,
  forget,
  loadSaved,
  newKey,
  type Photo,
  save,
  startDraft,
  stepsFor,
} from './draft';
import {
  formatWait,
  isLang,
  LANGUAGE_NAMES,
  LANGUAGES,
  type Lang,
  loadMessages,
  type Messages,
  pickLang,
  translator,
} from './i18n';
import { en, type MessageKey } from './i18n/en';
import { Done } from './steps/Done';
import { Lookup } from './steps/Lookup';
import { OrderHome, reasonText } from './steps/OrderHome';
import { Wizard } from './steps/Wizard';
import type { Boot, CustomerClaim, Flow, FlowEligibility, OrderState, ReasonCode } from './types';
import { Alert, Spinner } from './ui/common';
import { applyBranding } from './ui/theme';
import { claimInput } from './validate';

/** The server's eligibility answers (422, key = reason code) that the page explains in plain words. */
const GATES: string[] = [
  ...([
    'flow_disabled',
    'order_cancelled',
    'not_fulfilled',
    'not_delivered',
    'outside_claim_window',
    'outside_return_window',
    'already_claimed',
  ] satisfies ReasonCode[]),
  'item_not_eligible',
  'quantity_not_eligible',
];

type Stage = 'loading' | 'lookup' | 'home' | 'wizard' | 'done' | 'no-shop';

const FLOW_ALIASES: Record<string, Flow> = {
  notreceived: 'not_received',
  missingitem: 'missing_item',
  wrongitem: 'wrong_item',
};
/** `flowType` as snake_case or camelCase (SPEC §3). */
export function parseFlow(v: string | null): Flow | null {
  if (!v) return null;
  const k = v.trim().replace(/[-_]/g, '').toLowerCase();
  const flows: Flow[] = [
    'defective',
    'not_received',
    'missing_item',
    'wrong_item',
    'return',
    'dissatisfied',
    'support',
  ];
  return FLOW_ALIASES[k] ?? flows.find((f) => f.replace(/_/g, '') === k) ?? null;
}

export function App({ boot }: { boot: Boot }) {
  const params = useMemo(() => new URLSearchParams(location.search), []);
  const preview = params.get('preview') === '1';
  const [lang, setLang] = useState<Lang>(() =>
    pickLang(params.get('lang'), navigator.languages ?? [], boot.default_language),
  );
  const [messages, setMessages] = useState<Messages>(en);
  const t = useMemo(() => translator(messages), [messages]);
  const [api] = useState(() => new Api(boot.slug, lang));
  const saved = useMemo(() => loadSaved(boot.slug), [boot.slug]);

  const [stage, setStage] = useState<Stage>(boot.name ? 'loading' : 'no-shop');
  const [confirmStartOver, setConfirmStartOver] = useState(false);
  const keepGoing = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmStartOver) keepGoing.current?.focus();
  }, [confirmStartOver]);
  const [state, setState] = useState<OrderState | null>(null);
  const [claims, setClaims] = useState<CustomerClaim[]>([]);
  const [draft, setDraft] = useState<Draft>(() => ({ ...emptyDraft(), ...(saved?.draft ?? {}), photos: [] }));
  const [stepIndex, setStepIndex] = useState(saved?.step ?? 0);
  const [creds, setCreds] = useState({
    orderNumber: params.get('orderNumber') ?? params.get('order_number') ?? saved?.orderNumber ?? '',
    zipCode: params.get('zipCode') ?? params.get('zip_code') ?? saved?.zipCode ?? '',
  });
  // Kept as a message key (not text), so it follows a language switch and the catalogue that loads late.
  const [notice, setNotice] = useState<{ key: MessageKey; wait?: number } | null>(null);
  const [actionNotice, setActionNotice] = useState<MessageKey | null>(null);
  const [expired, setExpired] = useState(false);
  const [offline, setOffline] = useState(!navigator.onLine);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [lastClaim, setLastClaim] = useState<CustomerClaim | null>(null);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const submittingRef = useRef(false);

  useEffect(() => applyBranding(boot.branding), [boot.branding]);
  useEffect(() => {
    const on = () => setOffline(false);
    const off = () => setOffline(true);
    addEventListener('online', on);
    addEventListener('offline', off);
    return () => {
      removeEventListener('online', on);
      removeEventListener('offline', off);
    };
  }, []);

  // Language: its catalogue, the document's lang, and the server's labels (reasons, prompts) in it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a language change refetches
  useEffect(() => {
    let live = true;
    document.documentElement.lang = lang;
    api.lang = lang;
    loadMessages(lang).then(
      (m) => live && setMessages(m),
      () => undefined,
    );
    if (api.session && state)
      api.order().then(
        (s) => live && setState(s),
        () => undefined,
      );
    return () => {
      live = false;
    };
  }, [lang]);

  const copy = boot.branding?.copy?.[lang];
  useEffect(() => {
    document.title = `${copy?.headline || t('page.title')} · ${boot.name ?? 'Resolve'}`;
  }, [t, copy, boot.name]);

  const fail = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.sessionEnded) {
      setExpired(true);
      return true;
    }
    if (err instanceof ApiError && err.key === 'offline') setOffline(true);
    return false;
  }, []);

  const persist = useCallback(
    (d: Draft, step: number) => {
      if (preview) return;
      const { photos: _photos, ...rest } = d;
      save(boot.slug, {
        session: api.session,
        orderNumber: creds.orderNumber,
        zipCode: creds.zipCode,
        draft: rest,
        step,
      });
    },
    [api, boot.slug, creds, preview],
  );
  useEffect(() => persist(draft, stepIndex), [draft, stepIndex, persist]);

  /** After a session opens: the order, its claims, and the flow from the link if it is available. */
  const enter = useCallback(
    async (s: OrderState, resume: boolean) => {
      setState(s);
      setExpired(false);
      api.claims().then(
        (c) => setClaims(c.data),
        () => undefined,
      );
      if (resume) return;
      const wanted = parseFlow(params.get('flowType') ?? params.get('flow_type'));
      const f = wanted ? s.flows.find((x) => x.flow === wanted && x.available) : undefined;
      const savedFlow = draftRef.current.flow
        ? s.flows.find((x) => x.flow === draftRef.current.flow && x.available)
        : undefined;
      if (f) {
        if (draftRef.current.flow !== f.flow) {
          setDraft(startDraft(f));
          setStepIndex(0);
        }
        setStage('wizard');
      } else if (savedFlow && saved?.draft?.flow) setStage('wizard');
      else setStage('home');
    },
    [api, params, saved],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: opens the session once, at load
  useEffect(() => {
    if (!boot.name) return;
    const token = params.get('token');
    const previewSession = new URLSearchParams(location.hash.slice(1)).get('preview');
    (async () => {
      try {
        if (preview && previewSession) {
          api.session = previewSession;
          return await enter(await api.order(), false);
        }
        if (token) {
          try {
            return await enter(await api.openByToken(token), false);
          } catch (err) {
            const key = err instanceof ApiError ? err.key : '';
            setNotice({
              key:
                key === 'token_expired'
                  ? 'lookup.token_expired'
                  : key === 'token_revoked'
                    ? 'lookup.token_revoked'
                    : 'lookup.token_invalid',
            });
          }
        } else if (
          creds.orderNumber &&
          creds.zipCode &&
          (params.get('orderNumber') || params.get('order_number'))
        ) {
          try {
            return await enter(await api.openByZip(creds.orderNumber, creds.zipCode), false);
          } catch (err) {
            if (err instanceof ApiError && err.key === 'rate_limited')
              setNotice({ key: 'lookup.throttled', wait: err.retryAfter ?? 60 });
            else setNotice({ key: 'lookup.not_found' });
          }
        } else if (saved?.session) {
          api.session = saved.session;
          try {
            return await enter(await api.order(), false);
          } catch {
            api.session = null;
          }
        }
      } catch (err) {
        fail(err);
        setNotice({ key: 'error.generic' });
      }
      setStage('lookup');
    })();
  }, []);

  const lookup = async (orderNumber: string, zipCode: string) => {
    const s = await api.openByZip(orderNumber, zipCode);
    setCreds({ orderNumber, zipCode });
    setNotice(null);
    await enter(s, expired && stage !== 'lookup');
  };

  const reopenWithToken = async () => {
    const token = params.get('token');
    if (!token) return;
    try {
      await enter(await api.openByToken(token), true);
    } catch {
      setNotice({ key: 'lookup.token_expired' });
      setStage('lookup');
      setExpired(false);
    }
  };

  /** Applied to the ref at once too: submit reads the draft between renders. */
  const patchPhoto = (key: string, patch: Partial<Photo>) => {
    const apply = (d: Draft) => ({
      ...d,
      photos: d.photos.map((p) => (p.key === key ? { ...p, ...patch } : p)),
    });
    draftRef.current = apply(draftRef.current);
    setDraft(apply);
  };

  /** Why an upload failed, and whether sending the same file again could help. */
  const uploadError = (err: unknown): Pick<Photo, 'error' | 'retryable'> => {
    if (err instanceof ApiError) {
      if (err.key === 'unsupported_file_type' || err.key === 'unsupported_media_type')
        return { error: t('evidence.rejected_type'), retryable: false };
      // A damaged file or one carrying more than an image (src/resolve/image.ts): sending it again cannot help.
      if (err.key === 'invalid_evidence') return { error: t('evidence.rejected_content'), retryable: false };
      if (err.key === 'payload_too_large')
        return { error: t('evidence.rejected_size', { size: mb(boot.upload_max_bytes) }), retryable: false };
      if (err.key === 'offline') return { error: t('page.offline'), retryable: true };
    }
    return { error: t('evidence.failed'), retryable: true };
  };

  const upload = async (key: string, file: Blob, name: string) => {
    patchPhoto(key, { status: 'uploading', progress: 0, error: undefined });
    if (boot.upload_max_bytes && file.size > boot.upload_max_bytes)
      return patchPhoto(key, {
        status: 'error',
        error: t('evidence.rejected_size', { size: mb(boot.upload_max_bytes) }),
        retryable: false,
      });
    try {
      const up = await api.upload(file, name, (f) => patchPhoto(key, { progress: f }));
      patchPhoto(key, { status: 'done', progress: 1, uploadId: up.id, session: api.session ?? undefined });
      return up.id;
    } catch (err) {
      fail(err);
      patchPhoto(key, { status: 'error', ...uploadError(err) });
    }
  };

  const addPhoto = (kind: EvidenceKind, lineItemId: string | null, file: Blob, name: string) => {
    const key = newKey();
    const photo: Photo = {
      key,
      kind,
      lineItemId,
      file,
      name,
      preview: URL.createObjectURL(file),
      progress: 0,
      status: 'uploading',
    };
    setDraft((d) => ({ ...d, photos: [...d.photos, photo] }));
    void upload(key, file, name);
  };
  const removePhoto = (key: string) =>
    setDraft((d) => {
      const p = d.photos.find((x) => x.key === key);
      if (p) URL.revokeObjectURL(p.preview);
      return { ...d, photos: d.photos.filter((x) => x.key !== key) };
    });
  const retryPhoto = (key: string) => {
    const p = draftRef.current.photos.find((x) => x.key === key);
    if (p) void upload(key, p.file, p.name);
  };

  const flow = state?.flows.find((f) => f.flow === draft.flow) ?? null;
  const steps = flow ? stepsFor(flow) : [];

  const submit = async () => {
    if (!flow || submittingRef.current) return;
    submittingRef.current = true;
    setSubmitting(true);
    setSubmitError(null);
    try {
      // Photos uploaded under an earlier (expired) session are sent again with this one.
      for (const p of draftRef.current.photos)
        if (p.status === 'done' && p.session !== api.session) {
          if (!(await upload(p.key, p.file, p.name))) throw new ApiError('upload_failed', 'upload failed', 0);
        }
      const claim = await api.submitClaim(
        claimInput(flow, draftRef.current),
        draftRef.current.idempotencyKey,
      );
      setLastClaim(claim);
      setStage('done');
      window.parent !== window &&
        window.parent.postMessage({ type: 'resolve:claim_submitted', number: claim.number }, '*');
      if (!preview) {
        setDraft(emptyDraft());
        setStepIndex(0);
        api.order().then(setState, () => undefined);
        api.claims().then(
          (c) => setClaims(c.data),
          () => undefined,
        );
      }
    } catch (err) {
      if (!fail(err)) {
        const e = err instanceof ApiError ? err : null;
        const gated = e && GATES.includes(e.key);
        // The order's state changed under the customer: show what is possible now.
        if (gated) api.order().then(setState, () => undefined);
        setSubmitError(
          e?.key === 'offline'
            ? t('page.offline')
            : gated
              ? t('error.not_eligible', { reason: reasonText(t, e.key) || e.message })
              : e?.status === 422 || e?.status === 400
                ? t('error.details', { details: e.errors.map((x) => x.message).join('; ') || e.message })
                : t('review.failed'),
        );
      }
    } finally {
      submittingRef.current = false;
      setSubmitting(false);
    }
  };

  const pick = (f: FlowEligibility) => {
    setActionNotice(null);
    if (draft.flow !== f.flow) {
      setDraft(startDraft(f));
      setStepIndex(0);
    }
    setSubmitError(null);
    setStage('wizard');
  };

  const orderAction = async (kind: 'cancel' | 'address', body?: Record<string, string | null>) => {
    try {
      setActionNotice(null);
      setState(kind === 'cancel' ? await api.cancelOrder() : await api.changeAddress(body ?? {}));
      // Shown by the order view: the actions section itself may disappear (a cancelled order has none).
      setActionNotice(kind === 'cancel' ? 'actions.cancelled' : 'actions.address_saved');
    } catch (err) {
      fail(err);
      throw err;
    }
  };

  // A report in progress (items, a reason, photos, text) is not thrown away by one stray tap: asked on the page
  // (not window.confirm, which a sandboxed embed may block).
  const inProgress =
    stage === 'wizard' &&
    (draft.photos.length > 0 ||
      draft.description.trim() !== '' ||
      Object.keys(draft.items).length > 0 ||
      draft.reason !== null);
  const startOver = () => {
    setConfirmStartOver(false);
    forget(boot.slug);
    api.session = null;
    setState(null);
    setDraft(emptyDraft());
    setStepIndex(0);
    setStage('lookup');
  };

  return (
    <div className="page">
      <header className="top">
        <div className="brand">
          {boot.branding?.logo_url ? (
            <img className="logo" src={boot.branding.logo_url} alt={boot.name ?? ''} />
          ) : (
            <span className="shop-name">{boot.name}</span>
          )}
        </div>
        <label className="lang">
          <span className="sr-only">{t('page.language')}</span>
          <select
            value={lang}
            onChange={(e) => isLang(e.target.value) && setLang(e.target.value)}
            aria-label={t('page.language')}
          >
            {LANGUAGES.map((l) => (
              <option key={l} value={l} lang={l}>
                {LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
        </label>
      </header>
      <main id="main">
        {stage !== 'no-shop' && (stage === 'lookup' || stage === 'loading') && (
          <div className="intro">
            <h1>{copy?.headline || t('page.title')}</h1>
            <p>{copy?.intro || t('page.intro')}</p>
          </div>
        )}
        {preview && (
          <Alert kind="info" testId="preview-banner">
            {t('page.preview')}
          </Alert>
        )}
        {offline && (
          <Alert kind="warning" testId="offline-banner">
            {t('page.offline')}
          </Alert>
        )}
        {stage === 'no-shop' && <Alert testId="no-shop">{t('page.shop_not_found')}</Alert>}
        {stage === 'loading' && (
          <Spinner label={params.get('token') ? t('lookup.token_opening') : t('lookup.searching')} />
        )}
        {expired && stage !== 'lookup' ? (
          params.get('token') || preview ? (
            <section className="card" data-testid="session-expired">
              <h2 className="heading">{t('expired.title')}</h2>
              <p>{t('expired.body')}</p>
              {!preview && (
                <button type="button" className="button primary block" onClick={reopenWithToken}>
                  {t('expired.resume')}
                </button>
              )}
            </section>
          ) : (
            <div data-testid="session-expired">
              <Lookup
                t={t}
                initialNumber={creds.orderNumber}
                initialZip={creds.zipCode}
                title={t('expired.title')}
                intro={t('expired.body')}
                onLookup={lookup}
              />
            </div>
          )
        ) : (
          <>
            {stage === 'lookup' && (
              <Lookup
                t={t}
                initialNumber={creds.orderNumber}
                initialZip={creds.zipCode}
                notice={notice && t(notice.key, { time: formatWait(t, notice.wait ?? 0) })}
                onLookup={lookup}
              />
            )}
            {stage === 'home' && state && (
              <OrderHome
                t={t}
                lang={lang}
                state={state}
                claims={claims}
                notice={actionNotice && t(actionNotice)}
                onPick={pick}
                onAction={orderAction}
              />
            )}
            {stage === 'wizard' && state && flow && (
              <Wizard
                t={t}
                flow={flow}
                order={state.order}
                draft={draft}
                steps={steps}
                index={Math.min(stepIndex, steps.length - 1)}
                setIndex={setStepIndex}
                update={(patch) => setDraft((d) => ({ ...d, ...patch }))}
                submitting={submitting}
                submitError={submitError}
                onSubmit={submit}
                onExit={() => setStage('home')}
                onAdd={addPhoto}
                onRetry={retryPhoto}
                onRemove={removePhoto}
              />
            )}
            {stage === 'done' && lastClaim && (
              <Done
                t={t}
                claim={lastClaim}
                copy={copy?.confirmation}
                preview={preview}
                onBack={() => setStage('home')}
              />
            )}
          </>
        )}
        {state && stage !== 'lookup' && !preview && (
          <p className="footer-actions">
            <button
              type="button"
              className="link"
              onClick={() => (inProgress ? setConfirmStartOver(true) : startOver())}
            >
              {t('wizard.cancel')}
            </button>
          </p>
        )}
        {confirmStartOver && inProgress && (
          <div role="alertdialog" aria-labelledby="start-over-q" className="confirm">
            <p id="start-over-q">{t('wizard.cancel_confirm')}</p>
            <div className="row">
              <button type="button" className="button danger" onClick={startOver}>
                {t('wizard.cancel')}
              </button>
              <button
                type="button"
                className="button"
                ref={keepGoing}
                onClick={() => setConfirmStartOver(false)}
              >
                {t('wizard.keep_going')}
              </button>
            </div>
          </div>
        )}
      </main>
      <footer className="foot">
        {boot.branding?.support_email && (
          <a href={`mailto:${boot.branding.support_email}`}>{boot.branding.support_email}</a>
        )}
        <span>{t('page.powered')}</span>
      </footer>
    </div>
  );
}

const mb = (bytes: number | undefined) => `${Math.round(((bytes ?? 10485760) / 1048576) * 10) / 10} MB`;
