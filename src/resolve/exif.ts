import type { Ranges } from './xmp.js';

/**
 * Location removal from EXIF (a TIFF structure), in place: no offset moves, so the rest of the block
 * (orientation, camera, thumbnail) stays readable. Readers follow a GPS IFD pointer (0x8825) in any IFD of
 * the chain (IFD0, IFD1, …) and in the Exif IFD, and read IPTC (0x83BB IPTC-NAA: City, Country, …) and
 * Photoshop resources (0x8649, which hold IPTC and EXIF again) from IFD0 — ExifTool does all of that, in
 * JPEG as well. So every IFD reachable that way is visited: GPS IFDs are emptied, IPTC and Photoshop values
 * zeroed (zeros are padding to an IPTC reader, not a record).
 */

const GPS_IFD = 0x8825;
const EXIF_IFD = 0x8769;
const IPTC_NAA = 0x83bb;
const PHOTOSHOP = 0x8649;
/** More IFDs than this is a loop or garbage. */
const MAX_IFDS = 16;

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

/** Wipes location from the TIFF structure at `tiff` (offsets are relative to it), reading no byte at or past `limit`. */
export function wipeExif(buf: Buffer, tiff: number, limit: number): void {
  if (tiff + 8 > limit) return;
  const order = buf.toString('latin1', tiff, tiff + 2);
  if (order !== 'II' && order !== 'MM') return;
  const le = order === 'II';
  const u16 = (p: number) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p));
  const u32 = (p: number) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p));
  if (u16(tiff + 2) !== 42) return;
  /** The value bytes of an entry: inline (4 bytes) or at its offset; null when out of range. */
  const value = (entry: number): [number, number] | null => {
    const size = (TYPE_SIZE[u16(entry + 2)] ?? 1) * u32(entry + 4);
    const at = size > 4 ? tiff + u32(entry + 8) : entry + 8;
    return at + size <= limit ? [at, at + size] : null;
  };
  const seen = new Set<number>();
  const queue = [u32(tiff + 4)];
  while (queue.length && seen.size < MAX_IFDS) {
    const ifd = tiff + (queue.shift() ?? 0);
    if (ifd === tiff || seen.has(ifd) || ifd + 2 > limit) continue;
    seen.add(ifd);
    const n = u16(ifd);
    for (let e = 0; e < n; e++) {
      const entry = ifd + 2 + e * 12;
      if (entry + 12 > limit) break;
      const tag = u16(entry);
      if (tag === GPS_IFD) emptyIfd(tiff + u32(entry + 8));
      else if (tag === EXIF_IFD) queue.push(u32(entry + 8));
      else if (tag === IPTC_NAA || tag === PHOTOSHOP) {
        const v = value(entry);
        if (v) buf.fill(0, v[0], v[1]);
      }
    }
    if (ifd + 2 + n * 12 + 4 <= limit) queue.push(u32(ifd + 2 + n * 12));
  }

  /** Zeroes every entry of a GPS IFD and its values, and sets its entry count to 0. */
  function emptyIfd(gps: number) {
    if (gps + 2 > limit) return;
    const count = u16(gps);
    for (let g = 0; g < count; g++) {
      const entry = gps + 2 + g * 12;
      if (entry + 12 > limit) break;
      const v = value(entry);
      if (v) buf.fill(0, v[0], v[1]);
      buf.fill(0, entry, entry + 12);
    }
    if (le) buf.writeUInt16LE(0, gps);
    else buf.writeUInt16BE(0, gps);
  }
}

/**
 * EXIF split over byte ranges (multi-segment EXIF in JPEG, an item stored in several extents in HEIC) is one
 * TIFF structure: it is wiped joined, and written back. `tiff` is where the structure starts in the joined bytes.
 */
export function wipeExifSpans(buf: Buffer, spans: Ranges, tiff = 0): void {
  if (spans.length === 1) {
    wipeExif(buf, spans[0][0] + tiff, spans[0][1]);
    return;
  }
  const joined = Buffer.concat(spans.map(([a, b]) => buf.subarray(a, b)));
  wipeExif(joined, tiff, joined.length);
  let at = 0;
  for (const [a, b] of spans) {
    joined.copy(buf, a, at, at + b - a);
    at += b - a;
  }
}

/**
 * Where the TIFF structure starts in a JPEG APP1 payload [start, end), or -1 if it is not EXIF. As ExifTool
 * reads it: "Exif\0" and one more byte ("\0", but some Kodak cameras write another), after up to 4 bytes of
 * anything.
 */
export function app1Tiff(buf: Buffer, start: number, end: number): number {
  const at = buf.toString('latin1', start, Math.min(end, start + 9)).indexOf('Exif\0');
  return at < 0 ? -1 : start + at + 6;
}

/**
 * Whether an APP1 payload goes on with the EXIF of the APP1 right before it: EXIF over 64 KB is cut into
 * consecutive APP1 segments, each after the first starting with "Exif\0\0" but no TIFF header (ExifTool joins
 * them). Its data starts after those 6 bytes.
 */
export function continuesExif(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 10 || buf.toString('latin1', start, start + 6) !== 'Exif\0\0') return false;
  const magic = buf.toString('latin1', start + 6, start + 10);
  return magic !== 'MM\0*' && magic !== 'II*\0';
}
