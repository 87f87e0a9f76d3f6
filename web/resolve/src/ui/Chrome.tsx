import { useEffect, useRef, useState } from 'react';
import { isLang, LANGUAGE_NAMES, LANGUAGES, type Lang, type T } from '../i18n';
import type { Boot } from '../types';

/** The page's top bar: the shop's logo or name, and the language picker. */
export function Header({
  t,
  boot,
  lang,
  setLang,
}: {
  t: T;
  boot: Boot;
  lang: Lang;
  setLang: (l: Lang) => void;
}) {
  return (
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
  );
}

export function Footer({ t, boot }: { t: T; boot: Boot }) {
  return (
    <footer className="foot">
      {boot.branding?.support_email && (
        <a href={`mailto:${boot.branding.support_email}`}>{boot.branding.support_email}</a>
      )}
      <span>{t('page.powered')}</span>
    </footer>
  );
}

/**
 * "Start over" under the order or the report (keyed by the view: a move to another view closes the question). A report in progress (items, a reason, photos, text) is not thrown
 * away by one stray tap: asked on the page (not window.confirm, which a sandboxed embed may block).
 */
export function StartOver({
  t,
  inProgress,
  onStartOver,
}: {
  t: T;
  inProgress: boolean;
  onStartOver: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const keepGoing = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  /** "Keep going" (or Escape): the question closes and the focus returns to "Start over". */
  const keep = () => {
    setAsking(false);
    requestAnimationFrame(() => opener.current?.focus());
  };
  useEffect(() => {
    if (asking) keepGoing.current?.focus();
  }, [asking]);
  const startOver = () => {
    setAsking(false);
    onStartOver();
  };
  return (
    <>
      <p className="footer-actions">
        <button
          type="button"
          className="link"
          ref={opener}
          onClick={() => (inProgress ? setAsking(true) : startOver())}
        >
          {t('wizard.cancel')}
        </button>
      </p>
      {asking && inProgress && (
        <div
          role="alertdialog"
          aria-labelledby="start-over-q"
          className="confirm"
          onKeyDown={(e) => e.key === 'Escape' && keep()}
        >
          <p id="start-over-q">{t('wizard.cancel_confirm')}</p>
          <div className="row">
            <button type="button" className="button danger" onClick={startOver}>
              {t('wizard.cancel')}
            </button>
            <button type="button" className="button" ref={keepGoing} onClick={keep}>
              {t('wizard.keep_going')}
            </button>
          </div>
        </div>
      )}
    </>
  );
}
