import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, ApiError } from './api';
import {
  type Draft,
  emptyDraft,
  fitDraft,
  forget,
  loadSaved,
  newKey,
  save,
  startDraft,
  stepsFor,
} from './draft';
import { parseFlow } from './flows';
import { backTo, leaveTo, onHistory, pushView, replaceView, type View, viewKey } from './history';
import { formatWait, type Lang, loadMessages, type Messages, pickLang, translator } from './i18n';
import { en, type MessageKey } from './i18n/en';
import { usePhotos } from './photos';
import { Done } from './steps/Done';
import { Lookup } from './steps/Lookup';
import { OrderHome, reasonText } from './steps/OrderHome';
import { Wizard } from './steps/Wizard';
import { problemText, type SubmitProblem, submitProblem } from './submit-errors';
import type { Boot, CustomerClaim, Flow, FlowEligibility, OrderState } from './types';
import { Footer, Header, StartOver } from './ui/Chrome';
import { Alert, Heading, Spinner } from './ui/common';
import { applyBranding } from './ui/theme';
import { claimInput } from './validate';

type Stage = 'loading' | 'lookup' | 'home' | 'wizard' | 'done' | 'no-shop';

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
  /** A line above the order: an order action done, or why the report just refused is no longer offered. */
  const [actionNotice, setActionNotice] = useState<{
    key: MessageKey;
    reason?: string;
    /** The flow the reason is about: its words depend on it (reasonText). */
    flow?: Flow;
    tone?: 'warning';
  } | null>(null);
  const [expired, setExpired] = useState(false);
  const [offline, setOffline] = useState(!navigator.onLine);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<SubmitProblem | null>(null);
  const [lastClaim, setLastClaim] = useState<CustomerClaim | null>(null);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const submittingRef = useRef(false);
  const stepRef = useRef(stepIndex);
  stepRef.current = stepIndex;
  const stateRef = useRef(state);
  stateRef.current = state;
  /** The order the draft is for: a report is never carried over to another order (a reload included). */
  const draftOrderRef = useRef<string | null>(saved?.orderId ?? null);
  const lastClaimRef = useRef(lastClaim);
  lastClaimRef.current = lastClaim;
  /** Reports already sent (their idempotency keys): Back never reopens one of them. */
  const sent = useRef(new Set<string>());

  /** A new answer about the order: the draft follows what is still claimable, in the same render. */
  const updateState = useCallback((s: OrderState) => {
    setState(s);
    setDraft((d) => {
      const fitted = fitDraft(d, s.flows);
      draftRef.current = fitted;
      return fitted;
    });
  }, []);

  /** What a history entry can still show: a sent or dropped report, or a closed session, shows less. */
  const reachable = useCallback(
    (v: View): View => {
      if (v.stage === 'lookup') return v;
      const s = stateRef.current;
      if (!s || !api.session) return { stage: 'lookup' };
      if (v.stage === 'done') return lastClaimRef.current ? v : { stage: 'home' };
      if (v.stage === 'wizard') {
        const d = draftRef.current;
        const open =
          d.idempotencyKey === v.draft &&
          d.flow === v.flow &&
          !sent.current.has(v.draft) &&
          s.flows.some((f) => f.flow === v.flow && f.available);
        return open ? v : { stage: 'home' };
      }
      return v;
    },
    [api],
  );
  const show = useCallback((v: View) => {
    if (v.stage === 'wizard') setStepIndex(v.step);
    setStage(v.stage);
  }, []);
  /** Moves the page to `view`, as a new history entry (Back returns here) or in place of the current one. */
  const go = useCallback(
    (v: View, how: 'push' | 'replace' = 'push') => {
      show(v);
      if (how === 'push') pushView(v);
      else replaceView(v);
    },
    [show],
  );
  const wizardAt = useCallback(
    (step: number, d: Draft = draftRef.current): View => ({
      stage: 'wizard',
      flow: d.flow as Flow,
      step,
      draft: d.idempotencyKey,
    }),
    [],
  );
  // Back and Forward: the entry's view, or what is left of it.
  useEffect(
    () =>
      onHistory((v) => {
        const r = reachable(v);
        show(r);
        setSubmitError(null);
        if (viewKey(r) !== viewKey(v)) replaceView(r);
      }),
    [reachable, show],
  );

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
        (s) => live && updateState(s),
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
    // A request that did not get through says so where it was made; the banner is for the browser being offline.
    if (err instanceof ApiError && err.key === 'offline' && !navigator.onLine) setOffline(true);
    return false;
  }, []);
  // Any answer of the server means the page is online again (the browser's 'online' event may not come).
  api.onAnswer = () => setOffline(false);
  // The session ended under the customer: the card takes the focus; once it is resumed the focus returns to where
  // it was (the form the customer was filling in is kept, out of sight, meanwhile).
  const focusBeforeExpiry = useRef<Element | null>(null);
  useEffect(() => {
    if (expired) focusBeforeExpiry.current = document.activeElement;
    else {
      const el = focusBeforeExpiry.current;
      focusBeforeExpiry.current = null;
      if (el instanceof HTMLElement) requestAnimationFrame(() => el.isConnected && el.focus());
    }
  }, [expired]);

  const persist = useCallback(
    (d: Draft, step: number) => {
      if (preview) return;
      const { photos: _photos, ...rest } = d;
      save(boot.slug, {
        session: api.session,
        orderNumber: creds.orderNumber,
        zipCode: creds.zipCode,
        orderId: draftOrderRef.current,
        draft: rest,
        step,
      });
    },
    [api, boot.slug, creds, preview],
  );
  useEffect(() => persist(draft, stepIndex), [draft, stepIndex, persist]);

  /**
   * After a session opens: the order, its claims, and the flow from the link if it is available. `how`: a new
   * history entry after the customer's lookup, the current one on opening the page.
   */
  const enter = useCallback(
    async (s: OrderState, resume: boolean, how: 'push' | 'replace') => {
      // Another order than the one the report was for (looked up again after Back or after the session ended,
      // a link to another order opened in this tab, a reload): its report does not apply, nor does resuming it.
      const reportOf = stateRef.current?.order.id ?? draftOrderRef.current;
      const other = !!reportOf && reportOf !== s.order.id;
      if (other) {
        draftRef.current = emptyDraft();
        setDraft(draftRef.current);
        stepRef.current = 0;
      }
      draftOrderRef.current = s.order.id;
      updateState(s);
      setExpired(false);
      const earlier = api.claims().then(
        (c) => {
          setClaims(c.data);
          return c.data;
        },
        () => null,
      );
      if (resume && !other) return;
      const wanted = parseFlow(params.get('flowType') ?? params.get('flow_type'));
      const f = wanted ? s.flows.find((x) => x.flow === wanted && x.available) : undefined;
      const savedFlow = draftRef.current.flow
        ? s.flows.find((x) => x.flow === draftRef.current.flow && x.available)
        : undefined;
      // The link's flow already has a request for this order (sent from here or elsewhere), and no report of it
      // is under way in this tab: the customer coming back (a reload, the link opened again) sees the order with
      // its requests and their status, and can start another report from there.
      if (f && draftRef.current.flow !== f.flow && (await earlier)?.some((c) => c.flow === f.flow))
        go({ stage: 'home' }, how);
      else if (f) {
        let step = stepRef.current;
        if (draftRef.current.flow !== f.flow) {
          draftRef.current = startDraft(f);
          setDraft(draftRef.current);
          step = 0;
        }
        go(wizardAt(step), how);
      } else if (savedFlow && saved?.draft?.flow && !other) go(wizardAt(stepRef.current), how);
      else go({ stage: 'home' }, how);
    },
    [api, params, saved, go, updateState, wizardAt],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: opens the session once, at load
  useEffect(() => {
    if (!boot.name) return;
    const token = params.get('token');
    const previewSession = new URLSearchParams(location.hash.slice(1)).get('preview');
    const zipLink =
      !token &&
      !!creds.orderNumber &&
      !!creds.zipCode &&
      !!(params.get('orderNumber') || params.get('order_number'));
    (async () => {
      try {
        if (preview && previewSession) {
          api.session = previewSession;
          return await enter(await api.order(), false, 'replace');
        }
        if (token) {
          try {
            return await enter(await api.openByToken(token), false, 'replace');
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
        } else if (zipLink) {
          try {
            return await enter(await api.openByZip(creds.orderNumber, creds.zipCode), false, 'replace');
          } catch (err) {
            if (err instanceof ApiError && err.key === 'rate_limited')
              setNotice({ key: 'lookup.throttled', wait: err.retryAfter ?? 60 });
            else setNotice({ key: 'lookup.not_found' });
          }
        }
        // The tab's session, also after a link that no longer works (the customer looked the order up instead,
        // then reloaded): the page continues where it was.
        if (!zipLink && saved?.session) {
          api.session = saved.session;
          try {
            const s = await api.order();
            setNotice(null);
            return await enter(s, false, 'replace');
          } catch {
            api.session = null;
          }
        }
      } catch (err) {
        fail(err);
        setNotice({ key: 'error.generic' });
      }
      go({ stage: 'lookup' }, 'replace');
    })();
  }, []);

  const lookup = async (orderNumber: string, zipCode: string) => {
    const s = await api.openByZip(orderNumber, zipCode);
    setCreds({ orderNumber, zipCode });
    setNotice(null);
    await enter(s, expired && stage !== 'lookup', 'push');
  };

  const reopenWithToken = async () => {
    const token = params.get('token');
    if (!token) return;
    try {
      await enter(await api.openByToken(token), true, 'push');
    } catch {
      setNotice({ key: 'lookup.token_expired' });
      go({ stage: 'lookup' });
      setExpired(false);
    }
  };

  const photos = usePhotos({ api, maxBytes: boot.upload_max_bytes, draftRef, setDraft, fail });

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
          if (!(await photos.upload(p.key, p.file, p.name)))
            throw new ApiError('upload_failed', 'upload failed', 0);
        }
      const claim = await api.submitClaim(
        claimInput(flow, draftRef.current),
        draftRef.current.idempotencyKey,
      );
      // Its history entries no longer open: Back after sending shows the order, never the sent report. The
      // report's steps are dropped from the history, so Back leads to the order in one press, and then on.
      sent.current.add(draftRef.current.idempotencyKey);
      lastClaimRef.current = claim;
      setLastClaim(claim);
      show({ stage: 'done' });
      leaveTo({ stage: 'home' }, { stage: 'done' });
      window.parent !== window &&
        window.parent.postMessage({ type: 'resolve:claim_submitted', number: claim.number }, '*');
      if (!preview) {
        draftRef.current = emptyDraft();
        setDraft(draftRef.current);
        setStepIndex(0);
        api.order().then(updateState, () => undefined);
        api.claims().then(
          (c) => setClaims(c.data),
          () => undefined,
        );
      } else setDraft((d) => ({ ...d, idempotencyKey: newKey() }));
    } catch (err) {
      if (!fail(err)) refused(submitProblem(err instanceof ApiError ? err : null));
    } finally {
      submittingRef.current = false;
      setSubmitting(false);
    }
  };

  /** A refused submit: the customer's words for it, and the page's next step (SubmitProblem). */
  const refused = (p: SubmitProblem) => {
    setSubmitError(p);
    if (p.reupload)
      setDraft((d) => ({
        ...d,
        photos: d.photos.map((x) => (x.status === 'done' ? { ...x, session: undefined } : x)),
      }));
    if (p.newKey) {
      // A claim exists under this key (sent before, with other answers): it is in the order's list now.
      sent.current.add(draftRef.current.idempotencyKey);
      draftRef.current = { ...draftRef.current, idempotencyKey: newKey() };
      setDraft(draftRef.current);
      api.claims().then(
        (c) => setClaims(c.data),
        () => undefined,
      );
    }
    if (p.refresh)
      // The order or the shop's form changed under the customer: the draft is fitted to what is possible now and
      // the wizard goes to the first step that needs another look (Wizard); a closed flow says why.
      api.order().then(
        (s) => {
          updateState(s);
          const f = s.flows.find((x) => x.flow === draftRef.current.flow);
          // A shop that hides closed flows: the order shows what is left, and says why this one went.
          if (!f) {
            setActionNotice({
              key: p.reason ? 'error.not_eligible' : p.key,
              reason: p.reason,
              flow: draftRef.current.flow ?? undefined,
              tone: 'warning',
            });
            go({ stage: 'home' }, 'replace');
          } else if (!f.available)
            setSubmitError({ key: 'error.not_eligible', reason: f.reason_code ?? p.reason, toOrder: true });
        },
        () => undefined,
      );
  };

  /** The in-page Back: the browser's own Back when the entry below is where it leads. */
  const goBack = (v: View) => {
    setSubmitError(null);
    if (!backTo(v)) show(v);
  };

  const pick = (f: FlowEligibility) => {
    setActionNotice(null);
    let step = stepIndex;
    if (draft.flow !== f.flow || sent.current.has(draft.idempotencyKey)) {
      draftRef.current = startDraft(f);
      setDraft(draftRef.current);
      step = 0;
    }
    setSubmitError(null);
    go(wizardAt(step));
  };

  const actionKeys = useRef(new Map<string, string>());
  const orderAction = async (kind: 'cancel' | 'address', body?: Record<string, string | null>) => {
    // The same request sent again (after a lost answer: "No connection") keeps its Idempotency-Key, so a cancel
    // that went through answers as done instead of "not possible any more".
    const attempt = `${kind}:${JSON.stringify(body ?? {})}`;
    const key = actionKeys.current.get(attempt) ?? newKey();
    actionKeys.current.set(attempt, key);
    try {
      setActionNotice(null);
      updateState(kind === 'cancel' ? await api.cancelOrder(key) : await api.changeAddress(body ?? {}, key));
      actionKeys.current.delete(attempt);
      // Shown by the order view: the actions section itself may disappear (a cancelled order has none).
      setActionNotice({ key: kind === 'cancel' ? 'actions.cancelled' : 'actions.address_saved' });
    } catch (err) {
      fail(err);
      throw err;
    }
  };

  // A report in progress (items, a reason, photos, text): "Start over" asks first.
  const inProgress =
    stage === 'wizard' &&
    (draft.photos.length > 0 ||
      draft.description.trim() !== '' ||
      Object.keys(draft.items).length > 0 ||
      draft.reason !== null);
  const startOver = () => {
    forget(boot.slug);
    api.session = null;
    setState(null);
    setDraft(emptyDraft());
    setStepIndex(0);
    go({ stage: 'lookup' });
  };

  return (
    <div className="page">
      <Header t={t} boot={boot} lang={lang} setLang={setLang} />
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
        {expired &&
          stage !== 'lookup' &&
          (params.get('token') || preview ? (
            <section className="card" data-testid="session-expired" aria-labelledby="expired-title">
              <Heading level={1}>
                <span id="expired-title">{t('expired.title')}</span>
              </Heading>
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
                level={1}
                intro={t('expired.body')}
                onLookup={lookup}
              />
            </div>
          ))}
        {/* Kept while the session is confirmed again: what the customer typed (an address, a report) stays. */}
        <div className="view" hidden={expired && stage !== 'lookup'}>
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
              notice={
                actionNotice &&
                t(actionNotice.key, {
                  reason: !actionNotice.reason
                    ? ''
                    : actionNotice.flow
                      ? reasonText(t, actionNotice.flow, actionNotice.reason, state.order)
                      : t(`reason_code.${actionNotice.reason}` as MessageKey),
                })
              }
              noticeTone={actionNotice?.tone}
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
              setIndex={(i) => {
                setSubmitError(null);
                go(wizardAt(i));
              }}
              fixIndex={(i) => go(wizardAt(i), 'replace')}
              goBack={(i) => goBack(i < 0 ? { stage: 'home' } : wizardAt(i))}
              update={(patch) => setDraft((d) => ({ ...d, ...patch }))}
              submitting={submitting}
              submitError={
                submitError &&
                problemText(t, submitError, (code) => reasonText(t, flow.flow, code, state.order))
              }
              onSubmit={submit}
              onToOrder={submitError?.toOrder ? () => go({ stage: 'home' }) : undefined}
              closed={submitError?.key === 'error.not_eligible'}
              onAdd={photos.add}
              onRetry={photos.retry}
              onRemove={photos.remove}
            />
          )}
          {stage === 'done' && lastClaim && (
            <Done
              t={t}
              claim={lastClaim}
              copy={copy?.confirmation}
              preview={preview}
              onBack={() => goBack({ stage: 'home' })}
            />
          )}
        </div>
        {state && stage !== 'lookup' && !preview && (
          <StartOver
            key={stage === 'wizard' ? `wizard:${stepIndex}` : stage}
            t={t}
            inProgress={inProgress}
            onStartOver={startOver}
          />
        )}
      </main>
      <Footer t={t} boot={boot} />
    </div>
  );
}
