import { useEffect, useState } from 'react';
import { loadMessages, type Messages } from '../../../../resolve/src/i18n';
import type { Shop } from '../../App';
import { type ApiError, api } from '../../api';
import { ErrorBox } from '../../ui/common';
import { BrandPreview, pageColours } from './BrandPreview';
import { Editable, FieldError, TextField, useDoc, useFieldError } from './fields';
import { type CopyField, LANG_NAMES, LANGS, type Lang } from './model';

const FONTS = [
  'system-ui, sans-serif',
  'Georgia, serif',
  '"Helvetica Neue", Arial, sans-serif',
  '"Trebuchet MS", sans-serif',
  'Verdana, sans-serif',
  '"Times New Roman", serif',
  '"Courier New", monospace',
];
const COPY: [CopyField, string, keyof Messages, number][] = [
  ['headline', 'Headline', 'page.title', 120],
  ['intro', 'Introduction', 'page.intro', 600],
  ['confirmation', 'Confirmation (after a claim is sent)', 'done.next', 600],
];

/** Logo, colours, font, support address and texts, with a live mock of the page and a real preview. */
export function BrandingTab({ shop, dirty }: { shop: Shop; dirty: boolean }) {
  const { draft } = useDoc();
  const b = draft.branding;
  const [lang, setLang] = useState<Lang>('en');
  const [messages, setMessages] = useState<Messages | null>(null);
  useEffect(() => {
    let live = true;
    loadMessages(lang).then((m) => live && setMessages(m));
    return () => {
      live = false;
    };
  }, [lang]);
  const c = pageColours(b);

  return (
    <div className="branding">
      <div className="settings-stack">
        <section className="card" aria-labelledby="look-title">
          <h2 id="look-title">Look</h2>
          <Editable>
            <TextField
              path={['branding', 'logo_url']}
              label="Logo URL"
              type="url"
              nullable
              maxLength={2048}
              placeholder="https://cdn.example.com/logo.svg"
              hint="https only. Shown instead of the shop name, at most 40 px high."
            />
            <div className="field-grid">
              <ColourField field="primary_color" label="Primary colour" />
              <ColourField field="background_color" label="Background colour" />
            </div>
            <p className="hint" data-testid="derived-colours">
              The page keeps text legible: button text is {c.onBrand === '#ffffff' ? 'white' : 'black'}, links
              on cards use <code>{c.brandText}</code>
              {c.brandText.toLowerCase() !== c.brand.toLowerCase() ? ' (darkened for contrast)' : ''}, text on
              the background is {c.textOnBg === '#ffffff' ? 'white' : 'dark'}.
            </p>
            <TextField
              path={['branding', 'font_family']}
              label="Font family"
              list="font-suggestions"
              nullable
              maxLength={200}
              placeholder="Default: the device’s system font"
              hint="A CSS font list of fonts installed on the customer’s device, e.g. Georgia, serif."
            />
            <datalist id="font-suggestions">
              {FONTS.map((f) => (
                <option key={f} value={f} />
              ))}
            </datalist>
            <TextField
              path={['branding', 'support_email']}
              label="Support email"
              type="email"
              nullable
              maxLength={254}
              placeholder="help@example.com"
              hint="Shown at the bottom of the page."
            />
          </Editable>
        </section>

        <section className="card" aria-labelledby="copy-title">
          <h2 id="copy-title">Texts</h2>
          <fieldset className="lang-switch">
            <legend>Language of the texts</legend>
            {LANGS.map((l) => (
              <label key={l} className={l === lang ? 'on' : undefined}>
                <input
                  type="radio"
                  name="copy-lang"
                  value={l}
                  checked={l === lang}
                  onChange={() => setLang(l)}
                />
                {LANG_NAMES[l]}
                {b.copy[l] && Object.keys(b.copy[l] ?? {}).length > 0 && (
                  <>
                    <span className="dot" aria-hidden="true" title="Has custom texts" />
                    <span className="sr-only">(custom texts)</span>
                  </>
                )}
              </label>
            ))}
          </fieldset>
          <Editable>
            {COPY.map(([field, label, key, max]) => (
              <TextField
                key={`${lang}-${field}`}
                path={['branding', 'copy', lang, field]}
                label={`${label} (${LANG_NAMES[lang]})`}
                multiline={field !== 'headline'}
                maxLength={max}
                placeholder={messages ? `Default: ${messages[key]}` : undefined}
                hint={field === 'headline' ? 'Leave empty for the page’s default text.' : undefined}
              />
            ))}
          </Editable>
        </section>
      </div>

      <aside className="preview-col" aria-labelledby="live-title">
        <h2 id="live-title">
          Live preview{' '}
          <span className="muted small">
            ({LANG_NAMES[lang]}
            {dirty ? ', with your unsaved changes' : ''})
          </span>
        </h2>
        <BrandPreview branding={b} shopName={shop.name} lang={lang} t={messages} />
        <PagePreview shop={shop} lang={lang} dirty={dirty} />
      </aside>
    </div>
  );
}

function ColourField({ field, label }: { field: 'primary_color' | 'background_color'; label: string }) {
  const { draft, set } = useDoc();
  const path = ['branding', field];
  const value = draft.branding[field];
  const { message, errorId, aria } = useFieldError(path);
  const valid = /^#[0-9a-fA-F]{6}$/.test(value);
  return (
    <fieldset className="sfield colour">
      <legend>{label}</legend>
      <span className="row">
        <input
          type="color"
          aria-label={`${label}, picker`}
          value={valid ? value.toLowerCase() : '#000000'}
          onChange={(e) => set(path, e.target.value)}
        />
        <input
          id={`f-branding-${field}`}
          aria-label={`${label}, hex`}
          className="hex-input"
          value={value}
          maxLength={7}
          spellCheck={false}
          onChange={(e) => set(path, e.target.value.startsWith('#') ? e.target.value : `#${e.target.value}`)}
          {...aria}
        />
      </span>
      <FieldError id={errorId} message={message} />
    </fieldset>
  );
}

/** The real customer page in preview mode (a test order, nothing stored), with the saved settings. */
function PagePreview({ shop, lang, dirty }: { shop: Shop; lang: Lang; dirty: boolean }) {
  const [frame, setFrame] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const allowed = shop.role !== 'viewer';
  const open = async (where: 'tab' | 'frame') => {
    setBusy(true);
    setError(null);
    // A window opened right away, before the request, is not taken for a pop-up.
    const win = where === 'tab' ? window.open('about:blank', '_blank') : null;
    try {
      const { url } = await api<{ url: string }>('POST', `/v1/shops/${shop.slug}/resolve/preview`, { lang });
      if (where === 'tab') {
        if (win) {
          win.opener = null;
          win.location.href = url;
        } else window.open(url, '_blank', 'noopener');
      } else {
        // Same server: a relative address keeps the frame within the portal's frame-src 'self'.
        const u = new URL(url, location.href);
        setFrame(u.pathname + u.search + u.hash);
      }
    } catch (err) {
      win?.close();
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card page-preview" aria-labelledby="real-preview-title">
      <h3 id="real-preview-title">Try the real page</h3>
      <p className="muted small">
        Opens the customer page on a test order (delivered 2 days ago, three items). Nothing is stored.
        {dirty && <strong> It shows the saved settings: save first to try your changes.</strong>}
      </p>
      <div className="row">
        <button
          type="button"
          className="button"
          disabled={!allowed || busy}
          onClick={() => open('tab')}
          data-testid="preview-tab"
        >
          Preview in a new tab ↗
        </button>
        <button
          type="button"
          className="button"
          disabled={!allowed || busy}
          onClick={() => open('frame')}
          data-testid="preview-frame"
        >
          {frame ? 'Reload preview below' : 'Preview below'}
        </button>
      </div>
      {!allowed && <p className="hint">Previews need the agent or admin role.</p>}
      <ErrorBox error={error} />
      {frame && <iframe key={frame} className="preview-frame" src={frame} title="Customer page preview" />}
    </section>
  );
}
