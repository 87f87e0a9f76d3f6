import { crc32 } from 'node:zlib';
import { jpegXmpPlaces, type Ranges, wipeXmpLocation, type XmpPlace } from './xmp.js';

/** Evidence files: the type is decided by content, never by name or declared type (SPEC §5). */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/heic';

export class ImageRejected extends Error {
  constructor(
    readonly key: 'unsupported_file_type' | 'invalid_evidence',
    message: string,
  ) {
    super(message);
  }
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
// Markup or script in an image means a polyglot meant to be executed or rendered somewhere. In JPEG, PNG
// and WebP only the container and metadata are searched: compressed pixel data is near-random, and a
// 4-byte pattern like "<svg" turns up there by chance in about one 10 MB photo in 50. (HEIC keeps pixels
// and metadata together in `mdat` and is searched whole, hence the stricter "<svg" pattern.)
const ACTIVE_CONTENT = /<script|<\?php|<html|<svg[\s/>]|<!doctype|<iframe|<object|<embed|javascript:/i;

export function sniff(buf: Buffer): ImageType | null {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'image/jpeg';
  if (
    buf.length >= 8 &&
    buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'image/png';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') {
    const size = buf.readUInt32BE(0);
    const brands = [buf.toString('latin1', 8, 12)];
    for (let o = 16; o + 4 <= Math.min(size, buf.length); o += 4)
      brands.push(buf.toString('latin1', o, o + 4));
    if (brands[0] !== 'avif' && brands.some((b) => HEIC_BRANDS.has(b))) return 'image/heic';
  }
  return null;
}

/**
 * Checks the file is exactly one well-formed image of its type (no data appended or prepended, so no
 * ZIP/HTML/script polyglots), and returns a copy with EXIF/XMP location data removed.
 */
export function inspectAndClean(input: Buffer): { type: ImageType; data: Buffer } {
  const type = sniff(input);
  if (!type)
    throw new ImageRejected('unsupported_file_type', 'Only JPEG, PNG, WebP and HEIC photos are accepted.');
  const buf = Buffer.from(input);
  const pixels: Ranges = []; // compressed image data, which the active-content check skips
  const xmp: XmpPlace[] = []; // where XMP may be in `out`
  let out: Buffer;
  switch (type) {
    case 'image/jpeg':
      out = cleanJpeg(buf, pixels, xmp);
      break;
    case 'image/png':
      out = cleanPng(buf, pixels);
      break;
    case 'image/webp':
      out = cleanWebp(buf, pixels, xmp);
      break;
    case 'image/heic':
      out = cleanHeic(buf, xmp);
      break;
  }
  if (hasActiveContent(input, pixels))
    throw new ImageRejected('invalid_evidence', 'This file contains more than an image and was rejected.');
  for (const place of xmp) wipeXmpLocation(out, place);
  return { type, data: out };
}

const bad = (what: string) =>
  new ImageRejected('invalid_evidence', `The ${what} file is damaged or contains extra data.`);

function hasActiveContent(input: Buffer, pixels: Ranges): boolean {
  let from = 0;
  for (const [start, end] of pixels) {
    if (ACTIVE_CONTENT.test(input.toString('latin1', from, start))) return true;
    from = end;
  }
  return ACTIVE_CONTENT.test(input.toString('latin1', from));
}

function cleanJpeg(buf: Buffer, pixels: Ranges, xmp: XmpPlace[]): Buffer {
  const segments: [number, number, number][] = [];
  let end = jpegImage(buf, 0, pixels, segments);
  // Cameras append further complete JPEGs (MPF previews, depth maps), and some pad with zeros; anything
  // else after EOI is not part of a photo (a ZIP, a script, …).
  while (end < buf.length && !buf.subarray(end).every((b) => b === 0)) {
    if (!(buf[end] === 0xff && buf[end + 1] === 0xd8 && buf[end + 2] === 0xff)) throw bad('JPEG');
    end = jpegImage(buf, end, pixels, segments);
  }
  xmp.push(...jpegXmpPlaces(buf, segments));
  return buf;
}

/**
 * Walks one JPEG (SOI at `start`) segment by segment, wiping EXIF GPS and listing the APPn/COM payloads as
 * [marker, start, end]; returns the offset after its EOI.
 */
function jpegImage(buf: Buffer, start: number, pixels: Ranges, segments: [number, number, number][]): number {
  let o = start + 2;
  let scans = 0;
  while (o + 2 <= buf.length) {
    if (buf[o] !== 0xff) throw bad('JPEG');
    const marker = buf[o + 1];
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker === 0xd9) {
      if (!scans) throw bad('JPEG');
      return o + 2;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      o += 2;
      continue;
    }
    if (o + 4 > buf.length) throw bad('JPEG');
    const len = buf.readUInt16BE(o + 2);
    if (len < 2 || o + 2 + len > buf.length) throw bad('JPEG');
    if (marker === 0xe1 && buf.toString('latin1', o + 4, o + 10) === 'Exif\0\0')
      wipeGps(buf, o + 10, o + 2 + len);
    if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) segments.push([marker, o + 4, o + 2 + len]);
    o += 2 + len;
    if (marker === 0xda) {
      // Entropy-coded data: inside it FF is followed by 00 (stuffing) or RSTn; any other FF xx is the next
      // marker (EOI, or DHT/SOS/COM/… between the scans of a progressive JPEG).
      const from = o;
      for (;;) {
        o = buf.indexOf(0xff, o);
        if (o < 0 || o + 1 >= buf.length) throw bad('JPEG');
        const next = buf[o + 1];
        if (next !== 0 && !(next >= 0xd0 && next <= 0xd7)) break;
        o += 2;
      }
      pixels.push([from, o]);
      scans++;
    }
  }
  throw bad('JPEG');
}

// Location lives in EXIF and XMP: PNG keeps them in eXIf, in text chunks under the XMP keyword, or (ImageMagick)
// hex-encoded in text chunks named "Raw profile type …". Those are dropped; in other text, XMP is blanked.
const LOCATION_TEXT = /^(XML:com\.adobe\.xmp|Raw profile type (exif|xmp|app1|iptc|8bim))\0/i;

function cleanPng(buf: Buffer, pixels: Ranges): Buffer {
  const keep: Buffer[] = [buf.subarray(0, 8)];
  let o = 8;
  let idat = false;
  let sawEnd = false;
  while (o + 12 <= buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    const end = o + 12 + len;
    if (end > buf.length) throw bad('PNG');
    if (crc32(buf.subarray(o + 4, o + 8 + len)) !== buf.readUInt32BE(o + 8 + len)) throw bad('PNG');
    // One image: IHDR first (and only there), image data before IEND.
    if ((o === 8) !== (type === 'IHDR') || (type === 'IHDR' && len !== 13)) throw bad('PNG');
    const text = type === 'tEXt' || type === 'zTXt' || type === 'iTXt';
    const keyword = text ? buf.toString('latin1', o + 8, o + 8 + Math.min(len, 80)) : '';
    if (text && type !== 'zTXt' && wipeXmpLocation(buf, { spans: [[o + 8, o + 8 + len]], whole: true }))
      buf.writeUInt32BE(crc32(buf.subarray(o + 4, o + 8 + len)), o + 8 + len);
    if (type !== 'eXIf' && !LOCATION_TEXT.test(keyword)) keep.push(buf.subarray(o, end));
    if (type === 'IDAT' || type === 'fdAT') pixels.push([o + 8, o + 8 + len]);
    idat ||= type === 'IDAT';
    o = end;
    if (type === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (!sawEnd || !idat || o !== buf.length) throw bad('PNG');
  return Buffer.concat(keep);
}

function cleanWebp(buf: Buffer, pixels: Ranges, xmp: XmpPlace[]): Buffer {
  if (buf.readUInt32LE(4) + 8 !== buf.length) throw bad('WebP');
  const types: string[] = [];
  let o = 12;
  while (o + 8 <= buf.length) {
    const type = buf.toString('latin1', o, o + 4);
    const len = buf.readUInt32LE(o + 4);
    const end = o + 8 + len + (len % 2);
    if (end > buf.length) throw bad('WebP');
    // A bitstream starts with a key frame's start code (VP8) or the signature byte (VP8L).
    if (type === 'VP8 ' && !(len >= 10 && buf.readUIntBE(o + 11, 3) === 0x9d012a)) throw bad('WebP');
    if (type === 'VP8L' && !(len >= 5 && buf[o + 8] === 0x2f)) throw bad('WebP');
    if (type === 'VP8 ' || type === 'VP8L' || type === 'ALPH' || type === 'ANMF')
      pixels.push([o + 8, o + 8 + len]);
    else xmp.push({ spans: [[o + 8, o + 8 + len]], whole: true });
    if (type === 'EXIF') {
      const start = buf.toString('latin1', o + 8, o + 14) === 'Exif\0\0' ? o + 14 : o + 8;
      wipeGps(buf, start, o + 8 + len);
    }
    types.push(type);
    o = end;
  }
  if (o !== buf.length) throw bad('WebP');
  // One image: a simple file is its bitstream; an extended one (VP8X) holds one, or an animation's frames.
  const count = (t: string) => types.filter((x) => x === t).length;
  const stills = count('VP8 ') + count('VP8L');
  const image =
    types[0] === 'VP8X'
      ? (stills === 1 && !count('ANMF')) || (!stills && count('ANIM') === 1 && count('ANMF') > 0)
      : stills === 1 && (types[0] === 'VP8 ' || types[0] === 'VP8L');
  if (!image) throw bad('WebP');
  return buf;
}

/** ISO BMFF boxes that tile [start, end) exactly, as [type, content start, end]. */
function boxes(buf: Buffer, start: number, end: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  let o = start;
  while (o + 8 <= end) {
    let size = buf.readUInt32BE(o);
    let head = 8;
    if (size === 1) {
      if (o + 16 > end) throw bad('HEIC');
      size = Number(buf.readBigUInt64BE(o + 8));
      head = 16;
    } else if (size === 0) size = end - o;
    if (size < head || o + size > end) throw bad('HEIC');
    out.push([buf.toString('latin1', o + 4, o + 8), o + head, o + size]);
    o += size;
  }
  if (o !== end) throw bad('HEIC');
  return out;
}

function cleanHeic(buf: Buffer, xmp: XmpPlace[]): Buffer {
  // Top-level boxes tile the file; one image: one `meta` (a full box: 4 bytes of version and flags, then
  // a `pict` handler, the primary item, item infos and locations) and media data.
  const top = boxes(buf, 0, buf.length);
  const metas = top.filter(([t]) => t === 'meta');
  if (metas.length !== 1 || !top.some(([t, s, e]) => t === 'mdat' && e > s)) throw bad('HEIC');
  const meta = new Map(boxes(buf, metas[0][1] + 4, metas[0][2]).map(([t, s, e]) => [t, [s, e]]));
  const hdlr = meta.get('hdlr');
  if (!hdlr || hdlr[1] - hdlr[0] < 12 || buf.toString('latin1', hdlr[0] + 8, hdlr[0] + 12) !== 'pict')
    throw bad('HEIC');
  if (!meta.has('pitm') || !meta.has('iinf') || !meta.has('iloc')) throw bad('HEIC');
  // The Exif item holds "Exif\0\0" + TIFF; wipe GPS in place wherever one appears.
  let i = buf.indexOf('Exif\0\0', 0, 'latin1');
  while (i >= 0) {
    wipeGps(buf, i + 6, buf.length);
    i = buf.indexOf('Exif\0\0', i + 6, 'latin1');
  }
  // The XMP item sits in `mdat` among the pixels: read the packets found in the file.
  xmp.push({ spans: [[0, buf.length]], whole: false });
  return buf;
}

const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
};

/** Empties the GPS IFD of a TIFF/EXIF block in place (offsets elsewhere stay valid; orientation is kept). */
export function wipeGps(buf: Buffer, tiff: number, limit: number): void {
  if (tiff + 8 > limit) return;
  const order = buf.toString('latin1', tiff, tiff + 2);
  if (order !== 'II' && order !== 'MM') return;
  const le = order === 'II';
  const u16 = (p: number) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p));
  const u32 = (p: number) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p));
  if (u16(tiff + 2) !== 42) return;
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 + 2 > limit) return;
  const n = u16(ifd0);
  for (let e = 0; e < n; e++) {
    const entry = ifd0 + 2 + e * 12;
    if (entry + 12 > limit) return;
    if (u16(entry) !== 0x8825) continue;
    const gps = tiff + u32(entry + 8);
    if (gps + 2 > limit) return;
    const count = u16(gps);
    for (let g = 0; g < count; g++) {
      const ge = gps + 2 + g * 12;
      if (ge + 12 > limit) break;
      const size = (TYPE_SIZE[u16(ge + 2)] ?? 1) * u32(ge + 4);
      if (size > 4) {
        const at = tiff + u32(ge + 8);
        if (at + size <= limit) buf.fill(0, at, at + size);
      }
      buf.fill(0, ge, ge + 12);
    }
    if (le) buf.writeUInt16LE(0, gps);
    else buf.writeUInt16BE(0, gps);
  }
}
