import { type CSSProperties, useState } from 'react';
import type { Messages } from '../../../../resolve/src/i18n';
import { contrast, readable } from '../../../../resolve/src/ui/theme';
import type { Branding, Lang } from './model';

const HEX = /^#[0-9a-fA-F]{6}$/;

/** The colours the customer page derives from the branding (the same functions it uses), so text stays legible. */
export function pageColours(b: Branding) {
  const bg = HEX.test(b.background_color) ? b.background_color : '#f6f7f9';
  const brand = HEX.test(b.primary_color) ? b.primary_color : '#1f5fbf';
  return {
    bg,
    brand,
    onBrand: contrast('#ffffff', brand) >= contrast('#000000', brand) ? '#ffffff' : '#000000',
    brandText: readable(brand, '#ffffff'),
    textOnBg: contrast('#1a1a1a', bg) >= 4.5 ? '#1a1a1a' : '#ffffff',
  };
}

/**
 * A mock of the customer page's lookup screen and confirmation, drawn locally from the draft: instant, and
 * without saving. Plain text only (no headings or inputs), so it does not add to the portal's outline or forms.
 */
export function BrandPreview({
  branding,
  shopName,
  lang,
  t,
}: {
  branding: Branding;
  shopName: string;
  lang: Lang;
  t: Messages | null;
}) {
  const c = pageColours(branding);
  const [brokenLogo, setBrokenLogo] = useState<string | null>(null);
  const copy = branding.copy[lang];
  const style = {
    '--bp-bg': c.bg,
    '--bp-brand': c.brand,
    '--bp-on-brand': c.onBrand,
    '--bp-brand-text': c.brandText,
    '--bp-text-on-bg': c.textOnBg,
    ...(branding.font_family ? { '--bp-font': branding.font_family } : {}),
  } as CSSProperties;
  const m = (k: keyof Messages) => t?.[k] ?? '';
  const logo = branding.logo_url && /^https:\/\//.test(branding.logo_url) ? branding.logo_url : null;
  return (
    <div className="bp" style={style} lang={lang} data-testid="brand-preview">
      <div className="bp-top">
        {logo && brokenLogo !== logo ? (
          <img className="bp-logo" src={logo} alt={shopName} onError={() => setBrokenLogo(logo)} />
        ) : (
          <span className="bp-shop">{shopName}</span>
        )}
        <span className="bp-select" aria-hidden="true">
          {m('page.language')} ▾
        </span>
      </div>
      <div className="bp-intro">
        <p className="bp-h1" data-testid="preview-headline">
          {copy?.headline ?? m('page.title')}
        </p>
        <p>{copy?.intro ?? m('page.intro')}</p>
      </div>
      <div className="bp-card">
        <p className="bp-h2">{m('lookup.title')}</p>
        <p className="bp-muted">{m('lookup.intro')}</p>
        <p className="bp-label">{m('lookup.order_number')}</p>
        <span className="bp-input" />
        <p className="bp-hint">{m('lookup.order_number_hint')}</p>
        <p className="bp-label">{m('lookup.zip_code')}</p>
        <span className="bp-input" />
        <span className="bp-button">{m('lookup.submit')}</span>
      </div>
      <div className="bp-card bp-done">
        <span className="bp-mark" aria-hidden="true">
          ✓
        </span>
        <p className="bp-h2">{m('done.title')}</p>
        <p data-testid="preview-confirmation">{copy?.confirmation || m('done.next')}</p>
        <span className="bp-link">{m('done.back')}</span>
      </div>
      <div className="bp-foot">
        {branding.support_email && <span className="bp-link-bg">{branding.support_email}</span>}
        <span>{m('page.powered')}</span>
      </div>
    </div>
  );
}
