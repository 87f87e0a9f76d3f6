import { crc32 } from 'node:zlib';
import { app1Tiff, continuesExif, wipeExif, wipeExifSpans } from './exif.js';
import { cleanHeic } from './heic.js';
import { damaged, ImageRejected } from './image-errors.js';
import { isCameraTrailer } from './jpeg-trailers.js';
import { isLocation, jpegXmpPlaces, type Ranges, wipeXmpLocation, type XmpPlace } from './xmp.js';

export { ImageRejected };

/** Evidence files: the type is decided by content, never by name or declared type (SPEC §5). */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/heic';

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
 * ZIP/HTML/script polyglots; a JPEG's Motion Photo video or Samsung trailer is recognised and cut off, see
 * jpeg-trailers.ts, and so is a HEIC motion photo's video, see heic-video.ts), and returns a copy with the location data removed: EXIF GPS (exif.ts), XMP
 * location properties in any encoding (xmp.ts), IPTC and Photoshop resources (JPEG APP13, PNG raw profiles),
 * and PNG text chunks named after a place.
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
  // Only what is stored is searched: a JPEG may come back shorter, its camera trailer cut off; a HEIC
  // shorter or with a motion photo's video zero-filled (heic-video.ts).
  const stored = type === 'image/jpeg' ? input.subarray(0, out.length) : type === 'image/heic' ? out : input;
  if (hasActiveContent(stored, pixels))
    throw new ImageRejected('invalid_evidence', 'This file contains more than an image and was rejected.');
  for (const place of xmp) wipeXmpLocation(out, place);
  return { type, data: out };
}

const bad = damaged;

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
  const exif: Ranges[] = [];
  let end = jpegImage(buf, 0, pixels, segments, exif);
  // Cameras append further complete JPEGs (MPF previews, depth and gain maps), and some pad with zeros.
  // After the images, a Motion Photo video or a Samsung trailer is cut off (jpeg-trailers.ts); anything else
  // after EOI is not part of a photo (a ZIP, a script, …).
  let keep = buf.length;
  while (end < buf.length && !buf.subarray(end).every((b) => b === 0)) {
    if (!(buf[end] === 0xff && buf[end + 1] === 0xd8 && buf[end + 2] === 0xff)) {
      if (!isCameraTrailer(buf, end)) throw bad('JPEG');
      keep = end;
      break;
    }
    end = jpegImage(buf, end, pixels, segments, exif);
  }
  for (const spans of exif) wipeExifSpans(buf, spans);
  xmp.push(...jpegXmpPlaces(buf, segments));
  return keep < buf.length ? Buffer.from(buf.subarray(0, keep)) : buf;
}

/**
 * Walks one JPEG (SOI at `start`) segment by segment, emptying Photoshop segments, listing the APPn/COM
 * payloads as [marker, start, end] and the EXIF blocks (from their TIFF header on, over one APP1 or several
 * in a row); returns the offset after its EOI.
 */
function jpegImage(
  buf: Buffer,
  start: number,
  pixels: Ranges,
  segments: [number, number, number][],
  exif: Ranges[],
): number {
  let o = start + 2;
  let scans = 0;
  let last: Ranges | null = null; // the EXIF block the previous segment belonged to
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
    const [from, to] = [o + 4, o + 2 + len];
    if (marker === 0xe1 && last && continuesExif(buf, from, to)) last.push([from + 6, to]);
    else {
      const tiff = marker === 0xe1 ? app1Tiff(buf, from, to) : -1;
      last = tiff < 0 ? null : [[tiff, to]];
      if (last) exif.push(last);
    }
    // APP13 holds Photoshop image resources: IPTC IIM (City 2:90, Sub-location 2:92, Province/State 2:95,
    // Country 2:100/2:101, content location 2:26/2:27 — and place names in any free-text dataset), EXIF
    // again (0x0422/0x0423), XMP (0x0424), possibly split over several segments. Evidence needs none of it,
    // so the whole payload is zeroed, header included: no reader finds Photoshop or IPTC data any more, and
    // the segment keeps its length, so no offset after it moves (MPF's offsets to further images stay right).
    if (marker === 0xed) buf.fill(0, from, to);
    else if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) segments.push([marker, from, to]);
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

// Location lives in EXIF, XMP and IPTC: PNG keeps them in eXIf (also spelt otherwise, or the once-proposed
// compressed zxIf: ExifTool reads them all), in text chunks under the XMP keyword, or (ImageMagick) hex-encoded
// in text chunks named "Raw profile type …". ImageMagick also copies each EXIF and XMP property into a text
// chunk named after it ("exif:GPSLatitude", "photoshop:City"): text named like a location property (see
// isLocation) goes too. All those chunks are dropped; in other text, XMP is blanked.
const EXIF_CHUNK = /^(exif|zxif)$/i;
const METADATA_TEXT = /^(XML:com\.adobe\.xmp|Raw profile type (exif|xmp|app1|iptc|8bim))$/i;

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
    const keyword = text ? buf.toString('latin1', o + 8, o + 8 + Math.min(len, 80)).split('\0')[0] : '';
    if (text && type !== 'zTXt' && wipeXmpLocation(buf, { spans: [[o + 8, o + 8 + len]], whole: true }))
      buf.writeUInt32BE(crc32(buf.subarray(o + 4, o + 8 + len)), o + 8 + len);
    if (!EXIF_CHUNK.test(type) && !METADATA_TEXT.test(keyword) && !(keyword && isLocation(keyword)))
      keep.push(buf.subarray(o, end));
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
      wipeExif(buf, start, o + 8 + len);
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
