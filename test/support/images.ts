import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { inspectAndClean, sniff } from '../../src/resolve/image.js';

// Builders for evidence photos with metadata, made from the committed fixtures (test/fixtures/images).

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'images');
export const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

/** GPSLatitude 52° 31' 7518/625" and GPSLongitude 13° 24' 22293/1250" as the fixtures store them, big-endian. */
export const LAT_BE = u32be(52, 1, 31, 1, 7518, 625);
export const LON_BE = u32be(13, 1, 24, 1, 22293, 1250);

export function u32be(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) out.writeUInt32BE(v, i * 4);
  return out;
}

export function u16be(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 2);
  for (const [i, v] of values.entries()) out.writeUInt16BE(v, i * 2);
  return out;
}

export function jpegSegment(marker: number, data: Buffer): Buffer {
  assert.ok(data.length + 2 <= 0xffff);
  return Buffer.concat([Buffer.from([0xff, marker]), u16be(data.length + 2), data]);
}

/** Inserts segments right after SOI. */
export const withJpegSegments = (jpeg: Buffer, ...segments: Buffer[]) =>
  Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);

/** A JPEG's pixels: the bytes from its first SOS on. */
export const jpegScans = (jpeg: Buffer) => jpeg.subarray(jpeg.indexOf(Buffer.from([0xff, 0xda])));

/** The EXIF (TIFF) block of exif-gps-orientation.jpg: big-endian, GPS IFD at 0x7a, Orientation 6. */
export function fixtureTiff(): Buffer {
  const jpeg = fixture('exif-gps-orientation.jpg');
  const at = jpeg.indexOf('Exif\0\0MM');
  return Buffer.from(jpeg.subarray(at + 6, at - 4 + jpeg.readUInt16BE(at - 2)));
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), body, u32be(crc32(body))]);
}

/** A PNG's chunks as [type, whole chunk]. */
export function pngChunks(png: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (let o = 8; o < png.length; o += 12 + png.readUInt32BE(o))
    out.push([png.toString('latin1', o + 4, o + 8), png.subarray(o, o + 12 + png.readUInt32BE(o))]);
  return out;
}

/** Inserts PNG chunks right after IHDR. */
export function withPngChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

/** Appends a chunk to a WebP and fixes the RIFF size. */
export function withWebpChunk(webp: Buffer, type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  const out = Buffer.concat([webp, head, data, Buffer.alloc(data.length % 2)]);
  out.writeUInt32LE(out.length - 8, 4);
  return out;
}

/** A WebP without its chunks of a type (and, for EXIF or XMP, the VP8X flag that announces them). */
export function withoutWebpChunk(webp: Buffer, type: 'EXIF' | 'XMP '): Buffer {
  const parts = [Buffer.from(webp.subarray(0, 12))];
  for (let o = 12; o < webp.length; ) {
    const end = o + 8 + webp.readUInt32LE(o + 4) + (webp.readUInt32LE(o + 4) % 2);
    if (webp.toString('latin1', o, o + 4) !== type) parts.push(Buffer.from(webp.subarray(o, end)));
    o = end;
  }
  const out = Buffer.concat(parts);
  out.writeUInt32LE(out.length - 8, 4);
  if (out.toString('latin1', 12, 16) === 'VP8X') out[20] &= type === 'EXIF' ? ~0x08 : ~0x04;
  return out;
}

/** Appends an `mdat` box holding `data` to a HEIC. */
export const withMdat = (heic: Buffer, data: Buffer) =>
  Buffer.concat([heic, u32be(data.length + 8), Buffer.from('mdat', 'latin1'), data]);

export type TextEncoding = 'utf-16be' | 'utf-16le' | 'utf-32be' | 'utf-32le';

/** Text in UTF-16 or UTF-32 (no BOM is added: put U+FEFF in the text where one is wanted). */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  const le = encoding.endsWith('le');
  if (encoding.startsWith('utf-16')) {
    const out = Buffer.from(text, 'utf16le');
    return le ? out : out.swap16();
  }
  const points = [...text].map((c) => c.codePointAt(0) ?? 0);
  const out = Buffer.alloc(points.length * 4);
  for (const [i, p] of points.entries()) {
    if (le) out.writeUInt32LE(p, i * 4);
    else out.writeUInt32BE(p, i * 4);
  }
  return out;
}

export function decodeText(buf: Buffer, encoding: TextEncoding): string {
  const le = encoding.endsWith('le');
  if (encoding.startsWith('utf-16')) return (le ? buf : Buffer.from(buf).swap16()).toString('utf16le');
  let out = '';
  for (let i = 0; i + 4 <= buf.length; i += 4)
    out += String.fromCodePoint(Math.min(le ? buf.readUInt32LE(i) : buf.readUInt32BE(i), 0x10ffff));
  return out;
}

/**
 * Cleans `file` and checks the result: same type, none of `gone` left (bytes or Latin-1 text), still
 * accepted as one image of its type, and cleaning it again changes nothing. Returns the cleaned bytes.
 */
export function clean(file: Buffer, gone: (string | Buffer)[], what: string): Buffer {
  const type = sniff(file);
  assert.ok(type, what);
  for (const g of gone) assert.ok(file.includes(g), `${what}: the test file carries ${g}`);
  const { type: got, data } = inspectAndClean(file);
  assert.equal(got, type, what);
  for (const g of gone) assert.equal(data.indexOf(g), -1, `${what}: ${g} left`);
  assert.deepEqual(inspectAndClean(data), { type, data }, `${what}: cleaned again, nothing changes`);
  return data;
}

// A minimal big-endian TIFF writer for EXIF blocks laid out as a test needs them.

/** An IFD entry: tag, type, count, and the value bytes, or the index of another IFD it points to (LONG). */
export type TiffEntry = [tag: number, type: number, count: number, value: Buffer | { ifd: number }];

/**
 * A big-endian TIFF: `ifds[0]` is IFD0; `next[i]` is the IFD that IFD i chains to (IFD1 …). Values over 4
 * bytes follow each IFD.
 */
export function tiff(ifds: TiffEntry[][], next: Record<number, number> = {}): Buffer {
  const sizes = ifds.map((entries) => {
    const extra = entries.reduce(
      (n, [, , , v]) => n + (Buffer.isBuffer(v) && v.length > 4 ? v.length : 0),
      0,
    );
    return 2 + entries.length * 12 + 4 + extra;
  });
  const offsets = sizes.map((_, i) => 8 + sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const out = Buffer.alloc(offsets.at(-1)! + sizes.at(-1)!);
  out.write('MM\0*', 0, 'latin1');
  out.writeUInt32BE(8, 4);
  ifds.forEach((entries, i) => {
    let o = offsets[i];
    let extra = o + 2 + entries.length * 12 + 4;
    out.writeUInt16BE(entries.length, o);
    for (const [tag, type, count, value] of entries) {
      out.writeUInt16BE(tag, o + 2);
      out.writeUInt16BE(type, o + 4);
      out.writeUInt32BE(count, o + 6);
      if (!Buffer.isBuffer(value)) out.writeUInt32BE(offsets[value.ifd], o + 10);
      else if (value.length <= 4) value.copy(out, o + 10);
      else {
        out.writeUInt32BE(extra, o + 10);
        value.copy(out, extra);
        extra += value.length;
      }
      o += 12;
    }
    out.writeUInt32BE(next[i] === undefined ? 0 : offsets[next[i]], o + 2);
  });
  return out;
}

/** A GPS IFD with latitude and longitude (52.52 N, 13.40 E). */
export const GPS_IFD: TiffEntry[] = [
  [1, 2, 2, Buffer.from('N\0')],
  [2, 5, 3, LAT_BE],
  [3, 2, 2, Buffer.from('E\0')],
  [4, 5, 3, LON_BE],
];

// Camera trailers after a JPEG (src/resolve/jpeg-trailers.ts): Motion Photo videos and Samsung SEF trailers.

/** An ISO BMFF box (32-bit size). */
export function box(type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([u32be(body.length + 8), Buffer.from(type, 'latin1'), body]);
}

/** Where the video of a motion photo was taken, as an MP4 `©xyz` box holds it (ISO 6709). */
export const VIDEO_PLACE = '+52.5200+013.4050/';

/** Bytes that look like compressed media data (deterministic). */
export function noise(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A small MP4 as phones append it: `ftyp`, `moov` (with the place in `udta/©xyz`), `mdat`. */
export function mp4(mdat: Buffer = noise(4096)): Buffer {
  const xyz = box('\xa9xyz', u16be(VIDEO_PLACE.length, 0x15c7), Buffer.from(VIDEO_PLACE, 'latin1'));
  return Buffer.concat([
    box('ftyp', Buffer.from('mp42\0\0\0\0isommp42', 'latin1')),
    box('moov', box('mvhd', Buffer.alloc(100)), box('udta', xyz)),
    box('mdat', mdat),
  ]);
}

/** Samsung SEF block types (ExifTool Samsung.pm, Samsung::Trailer). */
export const SEF = { imageUtcData: 0x0a01, motionPhotoData: 0x0a30, mccData: 0x0aa1 } as const;

/**
 * A Samsung SEF trailer: blocks [type, name, data] one after the other (each zero-padded to 4 bytes when
 * `align`), then the directory ("SEFH", version, count, entries [0, type, offset back from SEFH, size]), its
 * length and "SEFT".
 */
export function samsungTrailer(blocks: [number, string, Buffer][], align = false): Buffer {
  const parts: Buffer[] = [];
  const entries: [type: number, at: number, size: number][] = [];
  let at = 0;
  for (const [type, name, data] of blocks) {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(type, 2);
    head.writeUInt32LE(name.length, 4);
    const block = Buffer.concat([head, Buffer.from(name, 'latin1'), data]);
    entries.push([type, at, block.length]);
    const pad = align ? (4 - (block.length % 4)) % 4 : 0;
    parts.push(block, Buffer.alloc(pad));
    at += block.length + pad;
  }
  const dir = Buffer.alloc(12 + 12 * entries.length);
  dir.write('SEFH', 0, 'latin1');
  dir.writeUInt32LE(106, 4);
  dir.writeUInt32LE(entries.length, 8);
  for (const [i, [type, start, size]] of entries.entries()) {
    dir.writeUInt16LE(type, 12 + 12 * i + 2);
    dir.writeUInt32LE(at - start, 12 + 12 * i + 4);
    dir.writeUInt32LE(size, 12 + 12 * i + 8);
  }
  const foot = Buffer.alloc(8);
  foot.writeUInt32LE(dir.length, 0);
  foot.write('SEFT', 4, 'latin1');
  return Buffer.concat([...parts, dir, foot]);
}
