import { wipeExif, wipeExifSpans } from './exif.js';
import { type Box, removeVideo, videoBoxes } from './heic-video.js';
import { damaged } from './image-errors.js';
import type { Ranges, XmpPlace } from './xmp.js';

const bad = () => damaged('HEIC');

/** ISO BMFF boxes that tile [start, end) exactly, as [type, content start, end, box start]. */
function boxes(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let o = start;
  while (o + 8 <= end) {
    let size = buf.readUInt32BE(o);
    let head = 8;
    if (size === 1) {
      if (o + 16 > end) throw bad();
      size = Number(buf.readBigUInt64BE(o + 8));
      head = 16;
    } else if (size === 0) size = end - o;
    if (size < head || o + size > end) throw bad();
    out.push([buf.toString('latin1', o + 4, o + 8), o + head, o + size, o]);
    o += size;
  }
  if (o !== end) throw bad();
  return out;
}

export function cleanHeic(input: Buffer, xmp: XmpPlace[]): Buffer {
  // Top-level boxes tile the file; one image: one `meta` (a full box: 4 bytes of version and flags, then
  // a `pict` handler, the primary item, item infos and locations) and media data. A motion photo's video
  // (an MP4 appended, Samsung's `mpvd`) is not part of the image and is removed (heic-video.ts).
  const top = boxes(input, 0, input.length);
  const video = videoBoxes(top);
  const image = top.filter((box) => !video.has(box));
  const metas = image.filter(([t]) => t === 'meta');
  if (metas.length !== 1 || !image.some(([t, s, e]) => t === 'mdat' && e > s)) throw bad();
  const meta = new Map(boxes(input, metas[0][1] + 4, metas[0][2]).map(([t, s, e]) => [t, [s, e] as const]));
  const hdlr = meta.get('hdlr');
  if (!hdlr || hdlr[1] - hdlr[0] < 12 || input.toString('latin1', hdlr[0] + 8, hdlr[0] + 12) !== 'pict')
    throw bad();
  const iinf = meta.get('iinf');
  const iloc = meta.get('iloc');
  if (!meta.has('pitm') || !iinf || !iloc) throw bad();
  const idat = meta.get('idat');
  const keep = video.size ? removeVideo(input, top, video, itemData(input, iloc, idat).flat()) : input.length;
  const buf = keep < input.length ? Buffer.from(input.subarray(0, keep)) : input;
  // An Exif item is a 4-byte offset to the TIFF header, then the data (usually "Exif\0\0" and the TIFF
  // header, but the offset may as well be 0 with no "Exif\0\0" at all): found through the item tables.
  const exif = itemTypes(buf, iinf, 'Exif');
  for (const spans of exif.size ? itemData(buf, iloc, idat, exif) : []) {
    const head = Buffer.concat(spans.map(([a, b]) => buf.subarray(a, b))).subarray(0, 4);
    if (head.length === 4) wipeExifSpans(buf, spans, 4 + head.readUInt32BE(0));
  }
  // And wherever else "Exif\0\0" + TIFF appears (an Exif item of a thumbnail, a damaged item table).
  for (let i = buf.indexOf('Exif\0\0', 0, 'latin1'); i >= 0; i = buf.indexOf('Exif\0\0', i + 6, 'latin1'))
    wipeExif(buf, i + 6, buf.length);
  // The XMP item sits in `mdat` among the pixels: read the packets found in the file.
  xmp.push({ spans: [[0, buf.length]], whole: false });
  return buf;
}

/** The ids of the items of a type, from `iinf` (a full box of `infe` boxes; item types from version 2 on). */
function itemTypes(buf: Buffer, [start, end]: readonly [number, number], type: string): Set<number> {
  const ids = new Set<number>();
  const first = start + 4 + (buf[start] === 0 ? 2 : 4);
  if (first > end) throw bad();
  for (const [t, s, e] of boxes(buf, first, end)) {
    if (t !== 'infe' || e - s < 4 || buf[s] < 2) continue;
    const idSize = buf[s] === 2 ? 2 : 4;
    if (s + 4 + idSize + 6 > e) throw bad();
    if (buf.toString('latin1', s + 6 + idSize, s + 10 + idSize) === type)
      ids.add(buf.readUIntBE(s + 4, idSize));
  }
  return ids;
}

/**
 * The data of the items `ids` (of all items without `ids`) as file ranges, from `iloc`: extents at offsets
 * in the file (construction method 0) or in `idat` (method 1); items made from other items (method 2) are
 * left out.
 */
function itemData(
  buf: Buffer,
  [start, end]: readonly [number, number],
  idat: readonly [number, number] | undefined,
  ids?: Set<number>,
): Ranges[] {
  const version = buf[start];
  let p = start + 4;
  const read = (size: number) => {
    if (size !== 0 && size !== 2 && size !== 4 && size !== 8) throw bad();
    if (p + size > end) throw bad();
    const v = size === 0 ? 0 : size === 8 ? Number(buf.readBigUInt64BE(p)) : buf.readUIntBE(p, size);
    p += size;
    return v;
  };
  const sizes = read(2);
  const [offsetSize, lengthSize, baseSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15];
  const indexSize = version === 1 || version === 2 ? sizes & 15 : 0;
  const out: Ranges[] = [];
  for (let i = 0, count = read(version < 2 ? 2 : 4); i < count; i++) {
    const id = read(version < 2 ? 2 : 4);
    const method = version === 1 || version === 2 ? read(2) & 15 : 0;
    read(2); // data reference index
    const base = read(baseSize);
    const extents: [number, number][] = [];
    for (let x = 0, n = read(2); x < n; x++) {
      read(indexSize);
      extents.push([read(offsetSize), read(lengthSize)]);
    }
    const [origin, limit] = method === 0 ? [0, buf.length] : method === 1 && idat ? idat : [-1, -1];
    if ((ids && !ids.has(id)) || origin < 0) continue;
    const spans = extents.map(([offset, length]): [number, number] => {
      const a = origin + base + offset;
      const b = length ? a + length : limit; // length 0: up to the end of the data
      if (b > limit || a > b) throw bad();
      return [a, b];
    });
    out.push(spans);
  }
  return out;
}
