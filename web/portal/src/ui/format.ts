export const money = (minor: number, currency: string) => {
  try {
    const f = new Intl.NumberFormat('en', { style: 'currency', currency });
    return f.format(minor / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
};
export const dateTime = (iso: string | null | undefined) =>
  iso
    ? new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
    : '—';
export const date = (iso: string | null | undefined) =>
  iso ? new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' }).format(new Date(iso)) : '—';
export const label = (code: string | null | undefined) =>
  code ? code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : '—';

/** How a claim came in (its `channel`), in the team's words rather than the API's codes. */
const CHANNELS: Record<string, string> = {
  zip: 'Customer, by order number + ZIP',
  token: 'Customer, by the shop’s link',
  api: 'API',
  portal: 'Portal (entered by the team)',
};
export const channelLabel = (code: string | null | undefined) =>
  code ? (CHANNELS[code] ?? label(code)) : '—';

const languages = (() => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' });
  } catch {
    return null;
  }
})();
/** A language code as its English name ("de" → "German"); the code itself when the browser does not know it. */
export const languageName = (code: string) => {
  try {
    return languages?.of(code) ?? code;
  } catch {
    return code;
  }
};

const regions = (() => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' });
  } catch {
    return null;
  }
})();
/** A country code with its English name ("DE" → "Germany (DE)"); the code alone when the browser does not know it. */
export function countryName(code: string): string {
  const cc = code.toUpperCase();
  try {
    const name = regions?.of(cc);
    return name && name !== cc ? `${name} (${cc})` : cc;
  } catch {
    return cc;
  }
}

const CARRIERS: Record<string, string> = {
  dhl: 'DHL',
  dpd: 'DPD',
  gls: 'GLS',
  ups: 'UPS',
  usps: 'USPS',
  tnt: 'TNT',
  fedex: 'FedEx',
  postnl: 'PostNL',
  royal_mail: 'Royal Mail',
  deutsche_post: 'Deutsche Post',
};
/** A carrier as stored (lower case) in its usual spelling: "dhl" → "DHL", "hermes" → "Hermes". */
export const carrierName = (code: string) =>
  CARRIERS[code.toLowerCase()] ?? (code.length <= 3 ? code.toUpperCase() : label(code));
