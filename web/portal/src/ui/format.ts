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
