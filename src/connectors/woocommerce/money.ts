/**
 * WooCommerce sends money as decimal strings ("12.34", "-9.00", "1200") with the store's price decimals, which
 * need not match the currency (a JPY store may print "1200.00"). Resolve keeps integer minor units by the
 * ISO 4217 digits, so conversion goes through the digits of the currency, on the string, never through floats.
 */

const digitsCache = new Map<string, number>();

/** Minor-unit digits of an ISO 4217 currency (JPY 0, EUR 2, KWD 3); 2 for codes Intl does not know. */
export function currencyDigits(currency: string): number {
  const code = currency.toUpperCase();
  let d = digitsCache.get(code);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits as number;
    } catch {
      d = 2;
    }
    digitsCache.set(code, d);
  }
  return d;
}

const DECIMAL = /^\s*([+-])?(\d*)(?:\.(\d*))?\s*$/;

/**
 * "12.345" → minor units, rounding half away from zero on extra decimals. Numbers (Woo's line `price` is a
 * float) are accepted and formatted first. Throws on anything that is not a plain decimal.
 */
export function toMinor(value: string | number, currency: string): number {
  const s = typeof value === 'number' ? value.toFixed(10) : value;
  const m = DECIMAL.exec(s);
  if (!m || (m[2] === '' && !m[3])) throw new Error(`not a decimal amount: "${value}"`);
  const digits = currencyDigits(currency);
  const frac = m[3] ?? '';
  const kept = (frac + '0'.repeat(digits)).slice(0, digits);
  let minor = Number((m[2] || '0') + kept);
  if ((frac[digits] ?? '0') >= '5') minor += 1;
  if (!Number.isSafeInteger(minor)) throw new Error(`amount out of range: "${value}"`);
  return m[1] === '-' && minor !== 0 ? -minor : minor;
}

/** Minor units → the decimal string WooCommerce expects ("12.34", or "1200" for JPY). */
export function toDecimal(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, '0');
  return digits ? `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}` : `${sign}${abs}`;
}
