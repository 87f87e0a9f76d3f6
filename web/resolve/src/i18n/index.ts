import { en, type MessageKey, type Messages } from './en';

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'nl', 'da'] as const;
export type Lang = (typeof LANGUAGES)[number];
/** Each language's own name, for the switcher (without loading every catalogue). */
export const LANGUAGE_NAMES: Record<Lang, string> = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
  it: 'Italiano',
  nl: 'Nederlands',
  da: 'Dansk',
};

// English ships in the main bundle; every other language is its own small chunk, loaded when chosen.
const loaders: Record<Exclude<Lang, 'en'>, () => Promise<Messages>> = {
  de: () => import('./de').then((m) => m.de),
  fr: () => import('./fr').then((m) => m.fr),
  es: () => import('./es').then((m) => m.es),
  it: () => import('./it').then((m) => m.it),
  nl: () => import('./nl').then((m) => m.nl),
  da: () => import('./da').then((m) => m.da),
};

export async function loadMessages(lang: Lang): Promise<Messages> {
  return lang === 'en' ? en : loaders[lang]();
}

export const isLang = (l: string | null | undefined): l is Lang =>
  !!l && (LANGUAGES as readonly string[]).includes(l);

/** `lang` from the link, then the browser's languages, then the shop's default. */
export function pickLang(param: string | null, browser: readonly string[], shopDefault: string): Lang {
  const base = (l: string | null | undefined) => l?.trim().toLowerCase().split(/[-_]/)[0];
  for (const l of [param, ...browser, shopDefault]) {
    const b = base(l);
    if (isLang(b)) return b;
  }
  return 'en';
}

export type Vars = Record<string, string | number>;
export type T = (key: MessageKey, vars?: Vars) => string;

/** `{count, plural, one {# photo} other {# photos}}` (ICU's plural, the two forms these languages have). */
const PLURAL = /\{(\w+), plural, one \{([^{}]*)\} other \{([^{}]*)\}\}/g;

export function translator(messages: Messages): T {
  const rules = new Intl.PluralRules(messages['lang.code'] ?? 'en');
  return (key, vars) => {
    const text = messages[key] ?? en[key] ?? key;
    if (!vars) return text;
    return text
      .replace(PLURAL, (m, k: string, one: string, other: string) =>
        k in vars
          ? (rules.select(Number(vars[k])) === 'one' ? one : other).replaceAll('#', String(vars[k]))
          : m,
      )
      .replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
  };
}

/**
 * The browser's own variant of the page's language, for dates and numbers: a British browser reading the English
 * page gets "25 Nov 2026", an American one "Nov 25, 2026". The page's language when the browser has none of it.
 */
export function localeOf(lang: string): string {
  const base = lang.toLowerCase().split(/[-_]/)[0];
  const own = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]);
  const match = own.find((l) => l.toLowerCase().split(/[-_]/)[0] === base);
  if (!match) return lang;
  try {
    return Intl.getCanonicalLocales(match)[0] ?? lang;
  } catch {
    return lang; // not a valid language tag
  }
}

export function formatMoney(lang: Lang, minor: number, currency: string): string {
  try {
    const f = new Intl.NumberFormat(localeOf(lang), { style: 'currency', currency });
    return f.format(minor / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

export function formatDate(lang: Lang, iso: string | null | undefined): string {
  if (!iso) return '';
  return new Intl.DateTimeFormat(localeOf(lang), { dateStyle: 'medium' }).format(new Date(iso));
}

/** A country's name in the page's language ("DE" → "Germany", "Deutschland"); the code when Intl has none. */
export function formatCountry(lang: Lang, code: string): string {
  try {
    return new Intl.DisplayNames([localeOf(lang)], { type: 'region' }).of(code.toUpperCase()) ?? code;
  } catch {
    return code; // not a region code Intl knows, or no Intl.DisplayNames
  }
}

export function formatWait(t: T, seconds: number): string {
  return seconds < 90
    ? t('time.seconds', { count: seconds })
    : t('time.minutes', { count: Math.ceil(seconds / 60) });
}

/**
 * "863 bytes", "240 kB", "2.4 MB" in the page's language (its digits and separators). Counted in 1024s, as the
 * upload limit is (10 MB = 10,485,760 bytes), so a file shown as "10.2 MB" is over a "10 MB" limit.
 */
export function formatFileSize(bytes: number): string {
  const lang = localeOf(document.documentElement.lang || 'en');
  const [n, unit] =
    bytes < 1024
      ? [bytes, 'byte']
      : bytes < 1024 * 1024
        ? [bytes / 1024, 'kilobyte']
        : [bytes / (1024 * 1024), 'megabyte'];
  try {
    return new Intl.NumberFormat(lang, {
      style: 'unit',
      unit,
      maximumFractionDigits: unit === 'megabyte' ? 1 : 0,
      // "19 bytes" (the short form of a byte is "byte" in English), "240 kB", "2.4 MB".
      unitDisplay: unit === 'byte' ? 'long' : 'short',
    }).format(n);
  } catch {
    return `${Math.round(n)} ${unit === 'byte' ? 'B' : unit === 'kilobyte' ? 'kB' : 'MB'}`;
  }
}

export type { MessageKey, Messages };
