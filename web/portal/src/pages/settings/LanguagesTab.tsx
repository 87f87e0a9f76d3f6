import { useEffect, useState } from 'react';
import type { Shop } from '../../App';
import { api } from '../../api';
import { label } from '../../ui/format';
import { onLink } from '../../ui/router';
import { useDoc } from './fields';
import { COPY_FIELDS, FLOWS, type FlowSettings, LANG_NAMES, LANGS, type Labels, type Lang } from './model';

/** The shop's default language (GET /v1/shops/{slug}); admins change it with PATCH. */
function useDefaultLanguage(slug: string) {
  const [lang, setLang] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    api<{ default_language: string }>('GET', `/v1/shops/${encodeURIComponent(slug)}`).then(
      (s) => live && setLang(s.default_language),
      () => live && setLang(null),
    );
    return () => {
      live = false;
    };
  }, [slug]);
  const save = async (next: string) => {
    const s = await api<{ default_language: string }>('PATCH', `/v1/shops/${encodeURIComponent(slug)}`, {
      default_language: next,
    });
    setLang(s.default_language);
  };
  return [lang, save] as const;
}

function DefaultLanguage({
  shop,
  def,
  save,
}: {
  shop: Shop;
  def: string | null | undefined;
  save(next: string): Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  if (shop.role !== 'admin')
    return (
      <strong data-testid="default-language">
        {def === undefined ? '…' : def ? `${LANG_NAMES[def as Lang] ?? def} (${def})` : 'unknown'}
      </strong>
    );
  return (
    <span className="row">
      <label className="sr-only" htmlFor="default-language">
        Default language
      </label>
      <select
        id="default-language"
        data-testid="default-language"
        value={def ?? ''}
        disabled={def === undefined}
        onChange={(e) => {
          setError(null);
          setSaved(false);
          save(e.target.value).then(
            () => setSaved(true),
            (err: Error) => setError(err.message),
          );
        }}
      >
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {LANG_NAMES[l]} ({l})
          </option>
        ))}
      </select>
      {saved && (
        <span className="small" role="status">
          Saved.
        </span>
      )}
      {error && (
        <span className="small field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** Labels without a text in `lang`: the customer sees the English label there. */
function missingIn(flows: Record<string, FlowSettings>, lang: Lang): string[] {
  if (lang === 'en') return [];
  const out: string[] = [];
  const check = (labels: Labels, what: string) => {
    if (!labels[lang]) out.push(what);
  };
  for (const f of FLOWS) {
    const fs = flows[f];
    if (!fs.enabled) continue;
    for (const r of fs.reasons) check(r.labels, `${label(f)}: reason “${r.labels.en || r.code}”`);
    for (const p of fs.prompts) {
      check(p.labels, `${label(f)}: question “${p.labels.en || p.id}”`);
      for (const o of p.options ?? []) check(o.labels, `${label(f)}: option “${o.labels.en || o.value}”`);
    }
  }
  return out;
}

export function LanguagesTab({ shop }: { shop: Shop }) {
  const { draft } = useDoc();
  const [def, saveDef] = useDefaultLanguage(shop.slug);
  const flows = draft.flows as Record<string, FlowSettings>;
  return (
    <div className="settings-stack">
      <section className="card" aria-labelledby="lang-how-title">
        <h2 id="lang-how-title">How the customer page picks its language</h2>
        <p>
          The page and its texts come in {LANGS.length} languages:{' '}
          {LANGS.map((l) => LANG_NAMES[l]).join(', ')}. Customers can switch at any time with the language
          menu. The page starts in the first of:
        </p>
        <ol className="steps-list">
          <li>
            the <code>lang</code> in the link, e.g. <code>/resolve/{shop.slug}?lang=de</code> (links created
            with the API can carry it);
          </li>
          <li>the languages of the customer’s browser, in their order of preference;</li>
          <li>
            the shop’s default language: <DefaultLanguage shop={shop} def={def} save={saveDef} />
          </li>
        </ol>
        <p className="muted small">
          Texts the API sends (reasons, eligibility) follow the same order, then the order’s own language.
        </p>
      </section>

      <section className="card" aria-labelledby="lang-cover-title">
        <h2 id="lang-cover-title">Your texts per language</h2>
        <p className="muted small">
          The page’s own texts exist in every language. Your custom texts (Branding) and your reasons and
          questions (Flows and reasons) fall back to English where a translation is missing.
        </p>
        <table className="grid-table">
          <thead>
            <tr>
              <th scope="col">Language</th>
              <th scope="col">Custom texts</th>
              <th scope="col">Missing translations</th>
              <th scope="col">Try it</th>
            </tr>
          </thead>
          <tbody>
            {LANGS.map((l) => {
              const custom = COPY_FIELDS.filter((f) => draft.branding.copy[l]?.[f]);
              const missing = missingIn(flows, l);
              return (
                <tr key={l} data-testid={`lang-${l}`}>
                  <th scope="row">
                    {LANG_NAMES[l]} <span className="muted small">({l})</span>
                    {def === l && <span className="badge">default</span>}
                  </th>
                  <td>
                    {custom.length ? custom.map(label).join(', ') : <span className="muted">Defaults</span>}
                  </td>
                  <td>
                    {l === 'en' ? (
                      <span className="muted">—</span>
                    ) : missing.length === 0 ? (
                      <span>None</span>
                    ) : (
                      <details>
                        <summary>
                          {missing.length} label{missing.length === 1 ? '' : 's'} in English
                        </summary>
                        <ul className="small">
                          {missing.map((m) => (
                            <li key={m}>{m}</li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </td>
                  <td>
                    <a href={`/resolve/${shop.slug}?lang=${l}`} target="_blank" rel="noopener noreferrer">
                      Open page in {LANG_NAMES[l]}
                      <span className="sr-only"> (new tab)</span>
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p className="small">
          Edit texts under{' '}
          <a href={`/portal/${shop.slug}/settings/branding`} onClick={onLink}>
            Branding
          </a>{' '}
          and labels under{' '}
          <a href={`/portal/${shop.slug}/settings/resolve`} onClick={onLink}>
            Flows and reasons
          </a>
          .
        </p>
      </section>
    </div>
  );
}
