import type { Branding } from '../types';

type Rgb = [number, number, number];
const parse = (hex: string): Rgb => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as Rgb;
const toHex = (c: Rgb) => `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(parse(a)), luminance(parse(b))].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Darkens (or lightens) a colour until it reaches WCAG AA contrast (4.5:1) against a background. */
export function readable(color: string, background: string): string {
  let c = parse(color);
  const towards = luminance(parse(background)) > 0.4 ? 0 : 255;
  for (let i = 0; i < 40 && contrast(toHex(c), background) < 4.5; i++)
    c = c.map((v) => v + (towards - v) * 0.1) as Rgb;
  return toHex(c);
}

/** The shop's colours and font as CSS variables, every pair adjusted to stay legible. */
export function applyBranding(b: Branding | undefined): void {
  const root = document.documentElement.style;
  const bg = b?.background_color ?? '#f6f7f9';
  const brand = b?.primary_color ?? '#1f5fbf';
  const onBrand = contrast('#ffffff', brand) >= contrast('#000000', brand) ? '#ffffff' : '#000000';
  root.setProperty('--bg', bg);
  root.setProperty('--brand', brand);
  root.setProperty('--on-brand', onBrand);
  // Links and accents sit on the white card.
  root.setProperty('--brand-text', readable(brand, '#ffffff'));
  root.setProperty('--text-on-bg', contrast('#1a1a1a', bg) >= 4.5 ? '#1a1a1a' : '#ffffff');
  if (b?.font_family) root.setProperty('--font', b.font_family);
}
