import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { ImageRejected, inspectAndClean, sniff } from '../src/resolve/image.js';

// Evidence files (SPEC §5 step 4): type by content, exactly one image, location metadata removed.
// Fixtures: test/fixtures/images/README.md says how each was made; no image tool is needed here.

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'images');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

const GPS_FIXTURES = [
  ['exif-gps-orientation.jpg', 'image/jpeg'],
  ['exif-gps.png', 'image/png'],
  ['exif-gps.webp', 'image/webp'],
  ['exif-gps.heic', 'image/heic'],
] as const;

// ---------------------------------------------------------------------------------------------------------
// A small EXIF (TIFF) reader, independent of the code under test.

interface Tiff {
  at: number;
  orientation: number | null;
  /** GPS IFD entries by tag, with their raw value bytes. */
  gps: Map<number, Buffer>;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

function readTiff(buf: Buffer, at: number): Tiff | null {
  const le = buf.toString('latin1', at, at + 2) === 'II';
  const u16 = (p: number) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p));
  const u32 = (p: number) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p));
  const inRange = (p: number, n: number) => p >= 0 && p + n <= buf.length;
  if (!inRange(at, 8) || u16(at + 2) !== 42) return null;
  /** tag → position of the value bytes and their length */
  const ifd = (off: number) => {
    const p = at + off;
    if (!inRange(p, 2)) return null;
    const entries = new Map<number, { pos: number; size: number }>();
    for (let i = 0; i < u16(p); i++) {
      const e = p + 2 + i * 12;
      if (!inRange(e, 12)) return null;
      const size = (TYPE_SIZE[u16(e + 2)] ?? 1) * u32(e + 4);
      const pos = size > 4 ? at + u32(e + 8) : e + 8;
      if (!inRange(pos, size)) return null;
      entries.set(u16(e), { pos, size });
    }
    return entries;
  };
  const ifd0 = ifd(u32(at + 4));
  if (!ifd0) return null;
  const orientation = ifd0.get(0x0112);
  const gpsPointer = ifd0.get(0x8825);
  const gps = new Map<number, Buffer>();
  for (const [tag, e] of (gpsPointer && ifd(u32(gpsPointer.pos))) || [])
    gps.set(tag, Buffer.from(buf.subarray(e.pos, e.pos + e.size)));
  return { at, orientation: orientation ? u16(orientation.pos) : null, gps };
}

/** Every TIFF structure in the file, wherever the container keeps it (APP1, eXIf, EXIF chunk, Exif item). */
function tiffBlocks(buf: Buffer): Tiff[] {
  const out: Tiff[] = [];
  for (const magic of [Buffer.from('MM\0*', 'latin1'), Buffer.from('II*\0', 'latin1')]) {
    for (let i = buf.indexOf(magic); i >= 0; i = buf.indexOf(magic, i + 1)) {
      const t = readTiff(buf, i);
      if (t) out.push(t);
    }
  }
  return out;
}

const GPS_LATITUDE = 2;
const GPS_LONGITUDE = 4;

function assertNoGps(cleaned: Buffer, original: Buffer, name: string) {
  const before = tiffBlocks(original);
  const lat = before.find((t) => t.gps.has(GPS_LATITUDE))?.gps.get(GPS_LATITUDE);
  const lon = before.find((t) => t.gps.has(GPS_LONGITUDE))?.gps.get(GPS_LONGITUDE);
  assert.ok(lat && lat.length === 24, `${name}: the fixture has a GPSLatitude (3 rationals)`);
  assert.ok(lon && lon.length === 24, `${name}: the fixture has a GPSLongitude`);
  assert.ok(original.includes(lat));
  for (const t of tiffBlocks(cleaned)) assert.equal(t.gps.size, 0, `${name}: GPS entries left at ${t.at}`);
  assert.equal(cleaned.indexOf(lat), -1, `${name}: latitude bytes still present`);
  assert.equal(cleaned.indexOf(lon), -1, `${name}: longitude bytes still present`);
}

// ---------------------------------------------------------------------------------------------------------
// Builders for hostile files.

function rejects(buf: Buffer, key: ImageRejected['key'], what: string) {
  assert.throws(
    () => inspectAndClean(buf),
    (err: unknown) => err instanceof ImageRejected && err.key === key,
    `${what}: expected ${key}`,
  );
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A valid 8-bit grayscale PNG whose rows are stored uncompressed, so the pixel bytes appear verbatim. */
function storedPng(rows: Buffer[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(rows[0].length, 0);
  ihdr.writeUInt32BE(rows.length, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    PNG_SIG,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Inserts a PNG chunk right after IHDR. */
function withPngChunk(png: Buffer, chunk: Buffer): Buffer {
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterIhdr), chunk, png.subarray(afterIhdr)]);
}

function jpegSegment(marker: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** Inserts a segment right after SOI, or before the n-th SOS when `beforeScan` is given. */
function withJpegSegment(jpeg: Buffer, segment: Buffer, beforeScan?: number): Buffer {
  let at = 2;
  if (beforeScan !== undefined) {
    at = -1;
    for (let n = 0; n <= beforeScan; n++) at = jpeg.indexOf(Buffer.from([0xff, 0xda]), at + 1);
    assert.ok(at > 0);
  }
  return Buffer.concat([jpeg.subarray(0, at), segment, jpeg.subarray(at)]);
}

/** A real (stored) ZIP archive with one HTML file: what a JPEG+ZIP polyglot carries. */
function zipArchive(): Buffer {
  const name = Buffer.from('index.html');
  const data = Buffer.from('hello, unzip me');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const cdOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

/** Replaces every occurrence of each `from` by a `to` of the same length. */
function rewrite(buf: Buffer, pairs: [string, string][]): Buffer {
  let text = buf.toString('latin1');
  for (const [from, to] of pairs) {
    assert.equal(from.length, to.length);
    assert.ok(text.includes(from), from);
    text = text.replaceAll(from, to);
  }
  return Buffer.from(text, 'latin1');
}

/** A complete XMP packet around one rdf:RDF body. */
function xmpPacket(rdf: string): string {
  return (
    `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n<x:xmpmeta xmlns:x='adobe:ns:meta/'>\n` +
    `<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n${rdf}\n</rdf:RDF>\n</x:xmpmeta>\n` +
    `${' '.repeat(100)}\n<?xpacket end='w'?>`
  );
}

const NS = {
  exif: 'http://ns.adobe.com/exif/1.0/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
  tiff: 'http://ns.adobe.com/tiff/1.0/',
};
/** An rdf:Description declaring exif:, xmp: and tiff:, with a kept CreatorTool and Orientation around `body`. */
const description = (attrs: string, body: string) =>
  `<rdf:Description rdf:about='' xmlns:exif='${NS.exif}' xmlns:xmp='${NS.xmp}' xmlns:tiff='${NS.tiff}'\n` +
  `  xmp:CreatorTool='TestCam 1.0' ${attrs}>\n  <tiff:Orientation>6</tiff:Orientation>\n${body}\n</rdf:Description>`;

const XMP_HEADER = 'http://ns.adobe.com/xap/1.0/\0';

function jpegWithXmp(packet: string): Buffer {
  const app1 = jpegSegment(0xe1, Buffer.concat([Buffer.from(XMP_HEADER, 'latin1'), Buffer.from(packet)]));
  return withJpegSegment(fixture('plain.jpg'), app1);
}

function webpWithXmp(packet: string): Buffer {
  const xmp = Buffer.from(packet);
  const head = Buffer.alloc(8);
  head.write('XMP ', 0, 'latin1');
  head.writeUInt32LE(xmp.length, 4);
  const webp = Buffer.concat([fixture('exif-gps.webp'), head, xmp, Buffer.alloc(xmp.length % 2)]);
  webp.writeUInt32LE(webp.length - 8, 4);
  webp[20] |= 0x04; // VP8X: XMP present
  return webp;
}

/** The fixture HEIC with one more `mdat` box holding `packet`. */
function heicWithXmp(packet: string): Buffer {
  const xmp = Buffer.from(packet);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(xmp.length + 8);
  head.write('mdat', 4, 'latin1');
  return Buffer.concat([fixture('exif-gps.heic'), head, xmp]);
}

/** A strict, tiny XML well-formedness check: every "<" starts valid markup and elements nest. */
function assertWellFormed(xml: string, what: string) {
  const markup =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<(\/?)([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  const open: string[] = [];
  for (let i = xml.indexOf('<'); i >= 0; i = xml.indexOf('<', markup.lastIndex)) {
    markup.lastIndex = i;
    const m = markup.exec(xml);
    assert.ok(m, `${what}: malformed markup at ${JSON.stringify(xml.slice(i, i + 60))}`);
    if (!m[2] || m[4]) continue;
    if (m[1]) assert.equal(open.pop(), m[2], `${what}: </${m[2]}> closes another element`);
    else open.push(m[2]);
  }
  assert.deepEqual(open, [], `${what}: elements left open`);
}

/** Every XMP packet in the file (from `<x:xmpmeta` to `</x:xmpmeta>`). */
const xmpmeta = (buf: Buffer) => buf.toString('utf8').match(/<x:xmpmeta[\s\S]*?<\/x:xmpmeta>/g) ?? [];

const PLACE = ['52,31.20048N', '13,24.29724E', '52.520008', '13.404954', 'Berlin', 'Mitte', 'Germany', 'DEU'];

/**
 * Cleaning keeps the type and length, leaves no coordinate or place name, keeps the other properties, and
 * the result is still one well-formed image with well-formed XMP.
 */
function assertXmpClean(file: Buffer, what: string) {
  const type = sniff(file);
  assert.ok(type, what);
  const before = file.toString('latin1');
  assert.ok(
    PLACE.some((p) => before.includes(p)),
    `${what}: the test file carries a location`,
  );
  const { type: got, data } = inspectAndClean(file);
  assert.equal(got, type, what);
  if (type !== 'image/png') assert.equal(data.length, file.length, `${what}: same length`);
  const text = data.toString('latin1');
  for (const p of PLACE) assert.ok(!text.includes(p), `${what}: "${p}" left in ${text}`);
  if (before.includes('TestCam 1.0')) assert.ok(text.includes('TestCam 1.0'), `${what}: CreatorTool kept`);
  if (before.includes('<tiff:Orientation>6<'))
    assert.ok(text.includes('<tiff:Orientation>6<'), `${what}: Orientation kept`);
  for (const x of xmpmeta(data)) assertWellFormed(x, what);
  assert.deepEqual(inspectAndClean(data), { type, data }, `${what}: cleaned again, nothing changes`);
  return text;
}

// ---------------------------------------------------------------------------------------------------------

describe('sniffing', () => {
  test('each fixture is recognised by its content', () => {
    for (const [name, type] of GPS_FIXTURES) assert.equal(sniff(fixture(name)), type, name);
    assert.equal(sniff(fixture('plain.jpg')), 'image/jpeg');
    assert.equal(sniff(fixture('xmp-gps.jpg')), 'image/jpeg');
    assert.equal(sniff(fixture('progressive.jpg')), 'image/jpeg');
  });

  test('clean fixtures pass unchanged in type and stay well-formed', () => {
    for (const name of [...GPS_FIXTURES.map(([n]) => n), 'plain.jpg', 'xmp-gps.jpg', 'progressive.jpg']) {
      const original = fixture(name);
      const { type, data } = inspectAndClean(original);
      assert.equal(type, sniff(original), name);
      // Cleaning again is accepted (still one well-formed image) and changes nothing more.
      assert.deepEqual(inspectAndClean(data).data, data, name);
    }
  });

  test('a file without metadata comes back byte for byte', () => {
    const plain = fixture('plain.jpg');
    assert.deepEqual(inspectAndClean(plain).data, plain);
    assert.equal(tiffBlocks(plain).length, 0);
  });

  test('the input buffer is never modified', () => {
    for (const [name] of GPS_FIXTURES) {
      const original = fixture(name);
      const copy = Buffer.from(original);
      inspectAndClean(original);
      assert.deepEqual(original, copy, name);
    }
  });
});

describe('location removal', () => {
  for (const [name, type] of GPS_FIXTURES) {
    test(`${name}: EXIF GPS is gone`, () => {
      const original = fixture(name);
      const { type: got, data } = inspectAndClean(original);
      assert.equal(got, type);
      assertNoGps(data, original, name);
    });
  }

  test('JPEG: Orientation survives (photos must not turn sideways) and other tags stay readable', () => {
    const original = fixture('exif-gps-orientation.jpg');
    assert.equal(tiffBlocks(original)[0].orientation, 6);
    const { data } = inspectAndClean(original);
    assert.equal(data.length, original.length); // wiped in place: no offsets move
    const [tiff] = tiffBlocks(data);
    assert.equal(tiff.orientation, 6);
    assert.ok(data.includes(Buffer.from('TestCam\0')), 'the camera make is kept');
  });

  test('PNG: the eXIf chunk is dropped and every chunk left has a valid CRC', () => {
    const { data } = inspectAndClean(fixture('exif-gps.png'));
    const types: string[] = [];
    for (let o = 8; o < data.length; ) {
      const len = data.readUInt32BE(o);
      types.push(data.toString('latin1', o + 4, o + 8));
      assert.equal(crc32(data.subarray(o + 4, o + 8 + len)), data.readUInt32BE(o + 8 + len));
      o += 12 + len;
    }
    assert.ok(!types.includes('eXIf'), types.join());
    assert.equal(types.at(-1), 'IEND');
  });

  test('PNG: an XMP iTXt chunk (which can carry GPS) is dropped', () => {
    const xmp = Buffer.concat([
      Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'),
      Buffer.from('<x:xmpmeta><rdf:Description exif:GPSLatitude="52,31.2N"/></x:xmpmeta>'),
    ]);
    const png = withPngChunk(fixture('exif-gps.png'), pngChunk('iTXt', xmp));
    const { data } = inspectAndClean(png);
    assert.equal(data.indexOf('52,31.2N'), -1);
    assert.equal(data.indexOf('iTXt'), -1);
  });

  test('XMP GPS (element form) is blanked in a JPEG, same length', () => {
    const original = fixture('xmp-gps.jpg');
    assert.ok(original.includes('<exif:GPSLatitude>52,31.20048N</exif:GPSLatitude>'));
    const { data } = inspectAndClean(original);
    assert.equal(data.length, original.length);
    const text = data.toString('latin1');
    assert.match(text, /<exif:GPSLatitude> +<\/exif:GPSLatitude>/);
    assert.match(text, /<exif:GPSLongitude> +<\/exif:GPSLongitude>/);
    assert.ok(!text.includes('52,31.20048N') && !text.includes('13,24.29724E'));
  });

  test('XMP GPS in a WebP "XMP " chunk is blanked too', () => {
    const xmp = Buffer.from('<x:xmpmeta><exif:GPSLatitude>52,31.20048N</exif:GPSLatitude></x:xmpmeta>');
    const head = Buffer.alloc(8);
    head.write('XMP ', 0, 'latin1');
    head.writeUInt32LE(xmp.length, 4);
    const chunk = Buffer.concat([head, xmp, Buffer.alloc(xmp.length % 2)]);
    const webp = Buffer.concat([fixture('exif-gps.webp'), chunk]);
    webp.writeUInt32LE(webp.length - 8, 4);
    const { data } = inspectAndClean(webp);
    const text = data.toString('latin1');
    assert.ok(!text.includes('52,31.20048N'), 'XMP latitude value left');
    assert.match(text, /<exif:GPSLatitude> +<\/exif:GPSLatitude>/);
    assertNoGps(data, webp, 'webp+xmp');
  });

  test('XMP GPS (attribute form) is blanked', () => {
    const xmp = Buffer.from(
      'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:RDF><rdf:Description exif:GPSLatitude="52,31.2N" exif:GPSLongitude = "13,24.3E"/></rdf:RDF></x:xmpmeta>',
      'latin1',
    );
    const jpeg = withJpegSegment(fixture('plain.jpg'), jpegSegment(0xe1, xmp));
    const text = inspectAndClean(jpeg).data.toString('latin1');
    assert.ok(!text.includes('52,31.2N') && !text.includes('13,24.3E'), text.slice(0, 300));
    assert.match(text, /exif:GPSLatitude=" +"/);
  });

  test('GPS in a second, appended JPEG (MPF image) is removed as well', () => {
    const gps = fixture('exif-gps-orientation.jpg');
    const mpo = Buffer.concat([fixture('plain.jpg'), gps]);
    const { data } = inspectAndClean(mpo);
    assertNoGps(data, gps, 'MPF second image');
  });
});

describe('XMP location in any valid form', () => {
  const LAT = `<exif:GPSLatitude>52,31.20048N</exif:GPSLatitude>`;
  const LON = `<exif:GPSLongitude>13,24.29724E</exif:GPSLongitude>`;
  /** The audit's three surviving forms, and more that XMP writers use. */
  const variants: [string, string][] = [
    [
      'another prefix bound to the EXIF namespace',
      description(
        `xmlns:EXIF='${NS.exif}'`,
        LAT.replaceAll('exif:', 'EXIF:') + LON.replaceAll('exif:', 'EXIF:'),
      ),
    ],
    [
      'attributes in single quotes',
      description(`exif:GPSLatitude='52,31.20048N' exif:GPSLongitude='13,24.29724E'`, ''),
    ],
    [
      'elements with attributes',
      description(
        '',
        `<exif:GPSLatitude rdf:parseType='Literal'>52,31.20048N</exif:GPSLatitude>\n` +
          `<exif:GPSLongitude xml:lang="x-default" >13,24.29724E</exif:GPSLongitude >`,
      ),
    ],
    [
      'the default namespace, a comment with a false end tag, CDATA',
      description(
        '',
        `<GPSLatitude xmlns='${NS.exif}'><!-- </GPSLatitude> -->52,31.20048N</GPSLatitude>\n` +
          `<exif:GPSLongitude><![CDATA[13,24.29724E]]></exif:GPSLongitude>`,
      ),
    ],
    [
      'exifEX:, drone-dji: and photoshop: place names',
      description(
        `xmlns:exifEX='http://cipa.jp/exif/1.0/' xmlns:drone-dji='http://www.dji.com/drone-dji/1.0/' ` +
          `xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/' drone-dji:GpsLatitude="+52.520008" ` +
          `drone-dji:GpsLongitude="+13.404954" photoshop:City="Berlin" photoshop:Country='Germany'`,
        `<exifEX:GPSHPositioningError>5</exifEX:GPSHPositioningError>\n<photoshop:State>Berlin</photoshop:State>`,
      ),
    ],
    [
      'Iptc4xmpCore:Location and Iptc4xmpExt:LocationShown/LocationCreated (structures, arrays)',
      description(
        `xmlns:Iptc4xmpCore='http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/' ` +
          `xmlns:Iptc4xmpExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/' Iptc4xmpCore:Location='Mitte'`,
        `<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType='Resource'>\n` +
          `  <Iptc4xmpExt:City>Berlin</Iptc4xmpExt:City><Iptc4xmpExt:CountryCode>DEU</Iptc4xmpExt:CountryCode>\n` +
          `  <Iptc4xmpExt:LocationName><rdf:Alt><rdf:li xml:lang='x-default'>Mitte</rdf:li></rdf:Alt></Iptc4xmpExt:LocationName>\n` +
          `</rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>\n` +
          `<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li><rdf:Description Iptc4xmpExt:GPSLatitude='52,31.20048N'\n` +
          `  Iptc4xmpExt:GPSLongitude='13,24.29724E' Iptc4xmpExt:CountryName='Germany'/></rdf:li></rdf:Bag>` +
          `</Iptc4xmpExt:LocationCreated>`,
      ),
    ],
  ];

  test('the test packets are well-formed XML', () => {
    for (const [what, rdf] of variants)
      assertWellFormed(xmpPacket(rdf).replace(/^<\?xpacket[^>]*>/, ''), what);
  });

  test('JPEG: EXIF namespace under another prefix (same-length rewrite of xmp-gps.jpg)', () => {
    const jpeg = rewrite(fixture('xmp-gps.jpg'), [
      ['xmlns:exif=', 'xmlns:EXIF='],
      ['exif:GPS', 'EXIF:GPS'],
    ]);
    const text = assertXmpClean(jpeg, 'EXIF: prefix');
    assert.match(text, /<EXIF:GPSLatitude> +<\/EXIF:GPSLatitude>/);
  });

  test("JPEG: attribute form in single quotes (exif:GPSLatitude='…')", () => {
    const text = assertXmpClean(jpegWithXmp(xmpPacket(variants[1][1])), 'single quotes');
    assert.match(text, /exif:GPSLatitude=' +'/);
  });

  test("JPEG: element with attributes (<exif:GPSLatitude rdf:parseType='Literal'>)", () => {
    const text = assertXmpClean(jpegWithXmp(xmpPacket(variants[2][1])), 'element with attributes');
    assert.match(text, /<exif:GPSLatitude rdf:parseType='Literal'> +<\/exif:GPSLatitude>/);
  });

  for (const [what, rdf] of variants) {
    test(`JPEG, WebP and HEIC: ${what}`, () => {
      assertXmpClean(jpegWithXmp(xmpPacket(rdf)), `jpeg: ${what}`);
      assertXmpClean(webpWithXmp(xmpPacket(rdf)), `webp: ${what}`);
      assertXmpClean(heicWithXmp(xmpPacket(rdf)), `heic: ${what}`);
    });
  }

  test('other properties are kept, also those whose names only look like a place', () => {
    const rdf = description(
      `xmlns:crs='http://ns.adobe.com/camera-raw-settings/1.0/' crs:OverlayOpacity='50' xmp:Rating='4'`,
      `<exif:SubjectLocation><rdf:Seq><rdf:li>8</rdf:li><rdf:li>9</rdf:li></rdf:Seq></exif:SubjectLocation>\n` +
        `<xmp:Label>allocation</xmp:Label>${LAT}`,
    );
    const jpeg = jpegWithXmp(xmpPacket(rdf));
    const text = assertXmpClean(jpeg, 'kept');
    assert.equal(text.replace(/GPSLatitude> +</, 'GPSLatitude>52,31.20048N<'), jpeg.toString('latin1'));
  });

  test('JPEG: extended XMP split over two APP1 segments in the middle of a value', () => {
    const guid = '0123456789ABCDEF0123456789ABCDEF';
    const main = xmpPacket(
      `<rdf:Description rdf:about='' xmlns:xmpNote='http://ns.adobe.com/xmp/note/' xmpNote:HasExtendedXMP='${guid}'/>`,
    );
    const ext = Buffer.from(
      `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
        `${description('', LAT + LON)}</rdf:RDF></x:xmpmeta>`,
    );
    const cut = ext.indexOf('52,31.2') + 4;
    const segment = (offset: number, data: Buffer) => {
      const head = Buffer.alloc(35 + 32 + 8);
      head.write(`http://ns.adobe.com/xmp/extension/\0${guid}`, 'latin1');
      head.writeUInt32BE(ext.length, 67);
      head.writeUInt32BE(offset, 71);
      return jpegSegment(0xe1, Buffer.concat([head, data]));
    };
    // Chunks may come in any order (here: second half first, after the main packet); offsets order them.
    const jpeg = withJpegSegment(
      jpegWithXmp(main),
      Buffer.concat([segment(cut, ext.subarray(cut)), segment(0, ext.subarray(0, cut))]),
      0,
    );
    assert.ok(!jpeg.includes('52,31.20048N') && jpeg.includes('52,3') && jpeg.includes('1.20048N'));
    const text = assertXmpClean(jpeg, 'extended XMP');
    assert.ok(!text.includes('1.20048N') && !text.includes('52,3'), 'both halves of the latitude are gone');
    // Put back together, the extended packet is still well-formed and keeps the other properties.
    const cleaned = inspectAndClean(jpeg).data;
    const chunks: [number, Buffer][] = [];
    for (let o = 2; cleaned[o + 1] !== 0xda; o += 2 + cleaned.readUInt16BE(o + 2)) {
      const data = cleaned.subarray(o + 4, o + 2 + cleaned.readUInt16BE(o + 2));
      if (data.toString('latin1', 0, 35) === `http://ns.adobe.com/xmp/extension/\0`)
        chunks.push([data.readUInt32BE(71), data.subarray(75)]);
    }
    assert.equal(chunks.length, 2);
    const whole = Buffer.concat(chunks.sort((a, b) => a[0] - b[0]).map(([, d]) => d)).toString('utf8');
    assert.equal(whole.length, ext.length);
    assertWellFormed(whole, 'extended XMP put back together');
    assert.match(whole, /<exif:GPSLatitude> +<\/exif:GPSLatitude>/);
    assert.ok(whole.includes('TestCam 1.0'));
  });

  test('JPEG: XMP kept elsewhere than the XMP APP1 (a comment) is found by its packet', () => {
    // (In a Photoshop APP13 it goes with the whole segment: see image-location.test.ts.)
    const packet = Buffer.from(xmpPacket(variants[0][1]));
    const seg = jpegSegment(
      0xfe,
      Buffer.concat([Buffer.from('Photoshop 3.0\x008BIM\x04\x24\0\0', 'latin1'), packet]),
    );
    assertXmpClean(withJpegSegment(fixture('plain.jpg'), seg), 'comment segment');
  });

  test('PNG: XMP in iTXt, zTXt or tEXt, and ImageMagick raw profiles, are dropped', () => {
    const packet = xmpPacket(variants[2][1]);
    const chunks: [string, Buffer][] = [
      ['iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(packet)])],
      ['tEXt', Buffer.from(`XML:com.adobe.xmp\0${packet}`, 'latin1')],
      ['zTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0', 'latin1'), deflateSync(packet)])],
      [
        'tEXt',
        Buffer.from(`Raw profile type xmp\0\nxmp\n${packet.length}\n${Buffer.from(packet).toString('hex')}`),
      ],
    ];
    for (const [type, data] of chunks) {
      const png = withPngChunk(fixture('exif-gps.png'), pngChunk(type, data));
      const { data: out } = inspectAndClean(png);
      assert.equal(out.indexOf(type), -1, `${type} ${data.subarray(0, 20)} kept`);
      assert.equal(out.indexOf('52,31.20048N'), -1);
      assert.deepEqual(inspectAndClean(out).data, out, 'still a valid PNG');
    }
    // Other text is kept.
    const comment = withPngChunk(fixture('exif-gps.png'), pngChunk('tEXt', Buffer.from('Comment\0hello')));
    assert.ok(inspectAndClean(comment).data.includes('Comment\0hello'));
  });

  test('JPEG: an XMP fragment without a packet around it, in any metadata segment, is blanked too', () => {
    // ExifTool reads an APP1 holding "<exif:" as XMP, whatever its header.
    for (const marker of [0xe1, 0xfe]) {
      const seg = jpegSegment(
        marker,
        Buffer.from(`XMP\0<exif:GPSLatitude a='1'>52,31.20048N</exif:GPSLatitude>`),
      );
      const text = assertXmpClean(
        withJpegSegment(fixture('plain.jpg'), seg),
        `fragment in ${marker.toString(16)}`,
      );
      assert.match(text, /<exif:GPSLatitude a=' '> +<\/exif:GPSLatitude>/);
    }
  });
});

describe('rejected: not a supported photo (unsupported_file_type)', () => {
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('hello, this is a text file\n')],
    ['HTML', Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>')],
    ['SVG with XML prolog', Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['GIF', Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64')],
    ['PDF', Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')],
    ['ZIP', zipArchive()],
    ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])],
    [
      'AVIF',
      Buffer.concat([Buffer.from('\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf', 'latin1'), Buffer.alloc(8)]),
    ],
    ['two bytes of a JPEG', Buffer.from([0xff, 0xd8])],
    ['JPEG magic further in', Buffer.concat([Buffer.from('xx'), fixture('plain.jpg')])],
  ];
  for (const [what, buf] of cases) {
    test(what, () => {
      assert.equal(sniff(buf), null);
      rejects(buf, 'unsupported_file_type', what);
    });
  }
});

describe('rejected: polyglots and damaged files (invalid_evidence)', () => {
  const jpeg = () => fixture('plain.jpg');
  const png = () => fixture('exif-gps.png');

  test('JPEG with a ZIP appended', () =>
    rejects(Buffer.concat([jpeg(), zipArchive()]), 'invalid_evidence', 'jpeg+zip'));

  test('JPEG with a ZIP appended behind a fake second-image marker (FF D8 FF)', () => {
    const fake = Buffer.concat([jpeg(), Buffer.from([0xff, 0xd8, 0xff]), zipArchive()]);
    rejects(fake, 'invalid_evidence', 'jpeg+ffd8ff+zip');
  });

  test('JPEG with zeros and then a ZIP appended', () =>
    rejects(Buffer.concat([jpeg(), Buffer.alloc(16), zipArchive()]), 'invalid_evidence', 'jpeg+0+zip'));

  test('JPEG with HTML appended', () =>
    rejects(Buffer.concat([jpeg(), Buffer.from('<p>hi</p>')]), 'invalid_evidence', 'jpeg+html'));

  test('PNG with a ZIP appended', () =>
    rejects(Buffer.concat([png(), zipArchive()]), 'invalid_evidence', 'png+zip'));

  test('WebP and HEIC with a ZIP appended', () => {
    rejects(Buffer.concat([fixture('exif-gps.webp'), zipArchive()]), 'invalid_evidence', 'webp+zip');
    rejects(Buffer.concat([fixture('exif-gps.heic'), zipArchive()]), 'invalid_evidence', 'heic+zip');
  });

  test('<script> inside a JPEG comment segment', () => {
    const com = jpegSegment(0xfe, Buffer.from('nice photo <script>alert(document.cookie)</script>'));
    rejects(withJpegSegment(jpeg(), com), 'invalid_evidence', 'jpeg COM script');
  });

  test('<script> in a comment between the scans of a progressive JPEG', () => {
    const com = jpegSegment(0xfe, Buffer.from('<SCRIPT src=//evil.example></SCRIPT>'));
    const poly = withJpegSegment(fixture('progressive.jpg'), com, 3);
    rejects(poly, 'invalid_evidence', 'progressive COM script');
  });

  test('<svg onload> in an EXIF field, <?php in an APP segment, javascript: in a PNG text chunk', () => {
    const exif = fixture('exif-gps-orientation.jpg');
    const at = exif.indexOf('TestCam');
    const svg = Buffer.from(exif);
    svg.write('<svg/x', at, 'latin1');
    rejects(svg, 'invalid_evidence', 'svg in EXIF make');
    rejects(
      withJpegSegment(jpeg(), jpegSegment(0xed, Buffer.from('<?php system($_GET["c"]); ?>'))),
      'invalid_evidence',
      'php in APP13',
    );
    rejects(
      withPngChunk(png(), pngChunk('tEXt', Buffer.from('Comment\0javascript:alert(1)'))),
      'invalid_evidence',
      'javascript: in tEXt',
    );
  });

  test('PNG with bytes after IEND', () => {
    rejects(Buffer.concat([png(), Buffer.from('x')]), 'invalid_evidence', 'png+1 byte');
    rejects(Buffer.concat([png(), Buffer.alloc(4)]), 'invalid_evidence', 'png+zeros');
  });

  test('PNG with a bad CRC', () => {
    const bad = Buffer.from(png());
    const idat = bad.indexOf('IDAT');
    bad[idat + 6] ^= 0x01;
    rejects(bad, 'invalid_evidence', 'png bad crc');
  });

  test('PNG without IEND, or with a chunk running past the end', () => {
    const p = png();
    rejects(p.subarray(0, p.length - 12), 'invalid_evidence', 'png no IEND');
    rejects(p.subarray(0, p.length - 20), 'invalid_evidence', 'png cut mid-chunk');
  });

  test('truncated JPEG (no EOI), and one cut inside a segment', () => {
    const j = jpeg();
    rejects(j.subarray(0, j.length - 2), 'invalid_evidence', 'jpeg without EOI');
    rejects(j.subarray(0, j.length - 1), 'invalid_evidence', 'jpeg with half an EOI');
    rejects(j.subarray(0, 40), 'invalid_evidence', 'jpeg cut in a segment');
    rejects(fixture('progressive.jpg').subarray(0, 300), 'invalid_evidence', 'progressive cut mid-scan');
  });

  test('JPEG with no image data (SOI, EOI)', () =>
    rejects(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'invalid_evidence', 'empty jpeg'));

  test('WebP whose RIFF size disagrees with the file', () => {
    const w = fixture('exif-gps.webp');
    for (const delta of [-2, 2, 1000]) {
      const bad = Buffer.from(w);
      bad.writeUInt32LE(w.readUInt32LE(4) + delta, 4);
      rejects(bad, 'invalid_evidence', `webp riff size ${delta}`);
    }
    rejects(w.subarray(0, w.length - 4), 'invalid_evidence', 'webp truncated');
  });

  test('HEIC whose boxes do not tile the file', () => {
    const h = fixture('exif-gps.heic');
    rejects(h.subarray(0, h.length - 3), 'invalid_evidence', 'heic truncated');
    rejects(Buffer.concat([h, Buffer.from('abc')]), 'invalid_evidence', 'heic + 3 bytes');
  });
});

describe('rejected: a container without exactly one image in it (invalid_evidence)', () => {
  /** PNG chunks as [type, whole chunk]; WebP chunks and HEIC boxes as [type, whole chunk/box]. */
  const pngChunks = (png: Buffer) => {
    const out: [string, Buffer][] = [];
    for (let o = 8; o < png.length; o += 12 + png.readUInt32BE(o))
      out.push([png.toString('latin1', o + 4, o + 8), png.subarray(o, o + 12 + png.readUInt32BE(o))]);
    return out;
  };
  const webpChunks = (webp: Buffer) => {
    const out: [string, Buffer][] = [];
    for (let o = 12; o < webp.length; ) {
      const end = o + 8 + webp.readUInt32LE(o + 4) + (webp.readUInt32LE(o + 4) % 2);
      out.push([webp.toString('latin1', o, o + 4), webp.subarray(o, end)]);
      o = end;
    }
    return out;
  };
  const riff = (chunks: Buffer[]) => {
    const head = Buffer.from('RIFF\0\0\0\0WEBP', 'latin1');
    const webp = Buffer.concat([head, ...chunks]);
    webp.writeUInt32LE(webp.length - 8, 4);
    return webp;
  };
  const heicBoxes = (heic: Buffer) => {
    const out: [string, Buffer][] = [];
    for (let o = 0; o < heic.length; o += heic.readUInt32BE(o))
      out.push([heic.toString('latin1', o + 4, o + 8), heic.subarray(o, o + heic.readUInt32BE(o))]);
    return out;
  };
  const without = (parts: [string, Buffer][], ...types: string[]) =>
    Buffer.concat(parts.filter(([t]) => !types.includes(t)).map(([, b]) => b));

  test('the audit files: 12-byte WebP, PNG signature + IEND, 16-byte HEIC (ftyp only)', () => {
    const webp = Buffer.from('RIFF\x04\0\0\0WEBP', 'latin1');
    const png = Buffer.concat([PNG_SIG, pngChunk('IEND', Buffer.alloc(0))]);
    const heic = Buffer.from('\0\0\0\x10ftypheic\0\0\0\0', 'latin1');
    for (const [what, file, type] of [
      ['webp', webp, 'image/webp'],
      ['png', png, 'image/png'],
      ['heic', heic, 'image/heic'],
    ] as const) {
      assert.equal(sniff(file), type, what);
      rejects(file, 'invalid_evidence', what);
    }
  });

  test('PNG: IHDR must come first, and there must be an IDAT before IEND', () => {
    const chunks = pngChunks(fixture('exif-gps.png'));
    assert.deepEqual(
      chunks.map(([t]) => t),
      ['IHDR', 'PLTE', 'eXIf', 'IDAT', 'IEND'],
    );
    const [ihdr, plte, exif, idat, iend] = chunks.map(([, b]) => b);
    rejects(Buffer.concat([PNG_SIG, ihdr, plte, exif, iend]), 'invalid_evidence', 'no IDAT');
    rejects(Buffer.concat([PNG_SIG, ihdr, iend]), 'invalid_evidence', 'IHDR + IEND');
    rejects(Buffer.concat([PNG_SIG, plte, ihdr, idat, iend]), 'invalid_evidence', 'IHDR not first');
    rejects(Buffer.concat([PNG_SIG, idat, iend]), 'invalid_evidence', 'no IHDR');
    rejects(Buffer.concat([PNG_SIG, ihdr, plte, ihdr, idat, iend]), 'invalid_evidence', 'two IHDR');
    rejects(Buffer.concat([PNG_SIG, ihdr, plte, iend, idat]), 'invalid_evidence', 'IDAT after IEND');
    assert.equal(inspectAndClean(Buffer.concat([PNG_SIG, ihdr, plte, idat, iend])).type, 'image/png');
  });

  test('WebP: a VP8/VP8L bitstream (or VP8X with one, or with ANIM and frames) is required', () => {
    const chunks = webpChunks(fixture('exif-gps.webp'));
    assert.deepEqual(
      chunks.map(([t]) => t),
      ['VP8X', 'VP8 ', 'EXIF'],
    );
    const [vp8x, vp8, exif] = chunks.map(([, b]) => b);
    rejects(riff([vp8x]), 'invalid_evidence', 'VP8X only');
    rejects(riff([vp8x, exif]), 'invalid_evidence', 'VP8X + EXIF');
    rejects(riff([exif]), 'invalid_evidence', 'EXIF only');
    rejects(riff([exif, vp8]), 'invalid_evidence', 'EXIF before the image');
    rejects(riff([vp8x, vp8, vp8, exif]), 'invalid_evidence', 'two images');
    const noStartCode = Buffer.from(vp8);
    noStartCode[8 + 3] = 0;
    rejects(riff([vp8x, noStartCode, exif]), 'invalid_evidence', 'VP8 chunk without a key frame start code');
    const empty = Buffer.from('VP8 \0\0\0\0', 'latin1');
    rejects(riff([vp8x, empty]), 'invalid_evidence', 'empty VP8 chunk');
    rejects(riff([Buffer.from('VP8L\0\0\0\0', 'latin1')]), 'invalid_evidence', 'empty VP8L chunk');
    assert.equal(inspectAndClean(riff([vp8])).type, 'image/webp', 'simple lossy WebP');
    // Animated: VP8X, ANIM, then ANMF frames (each holding its own bitstream).
    const anim = Buffer.from('ANIM\x06\0\0\0\0\0\0\0\0\0', 'latin1');
    const frame = Buffer.concat([Buffer.from('ANMF', 'latin1'), Buffer.alloc(4), Buffer.alloc(16), vp8]);
    frame.writeUInt32LE(frame.length - 8, 4);
    assert.equal(inspectAndClean(riff([vp8x, anim, frame, exif])).type, 'image/webp', 'animated WebP');
    rejects(riff([vp8x, anim, exif]), 'invalid_evidence', 'ANIM without frames');
  });

  test('HEIC: a meta box (hdlr pict, pitm, iinf, iloc) and media data are required', () => {
    const boxes = heicBoxes(fixture('exif-gps.heic'));
    assert.deepEqual(
      boxes.map(([t]) => t),
      ['ftyp', 'meta', 'mdat'],
    );
    const [ftyp, meta, mdat] = boxes.map(([, b]) => b);
    rejects(Buffer.concat([ftyp, meta]), 'invalid_evidence', 'no mdat');
    rejects(Buffer.concat([ftyp, mdat]), 'invalid_evidence', 'no meta');
    rejects(Buffer.concat([ftyp, meta, meta, mdat]), 'invalid_evidence', 'two meta boxes');
    rejects(
      Buffer.concat([ftyp, meta, Buffer.from('\0\0\0\x08mdat', 'latin1')]),
      'invalid_evidence',
      'empty mdat',
    );
    const inner = heicBoxes(meta.subarray(12));
    assert.deepEqual(
      inner.map(([t]) => t),
      ['hdlr', 'pitm', 'idat', 'iloc', 'iinf', 'iprp', 'iref'],
    );
    const metaWithout = (...types: string[]) => {
      const body = without(inner, ...types);
      const box = Buffer.concat([meta.subarray(0, 12), body]);
      box.writeUInt32BE(box.length);
      return box;
    };
    for (const t of ['hdlr', 'pitm', 'iinf', 'iloc'])
      rejects(Buffer.concat([ftyp, metaWithout(t), mdat]), 'invalid_evidence', `meta without ${t}`);
    const notPict = Buffer.from(meta);
    notPict.write('vide', notPict.indexOf('pict'), 'latin1');
    rejects(Buffer.concat([ftyp, notPict, mdat]), 'invalid_evidence', 'handler is not pict');
  });
});

describe('accepted: what real cameras produce', () => {
  test('a JPEG followed by a second complete JPEG (MPF style)', () => {
    const mpo = Buffer.concat([fixture('plain.jpg'), fixture('exif-gps-orientation.jpg')]);
    const { type, data } = inspectAndClean(mpo);
    assert.equal(type, 'image/jpeg');
    assert.equal(data.length, mpo.length);
  });

  test('a JPEG followed by zero padding', () => {
    const padded = Buffer.concat([fixture('plain.jpg'), Buffer.alloc(64)]);
    assert.equal(inspectAndClean(padded).type, 'image/jpeg');
  });

  test('a progressive JPEG (several scans with tables between them)', () => {
    assert.equal(inspectAndClean(fixture('progressive.jpg')).type, 'image/jpeg');
  });

  test('markup-like bytes inside compressed pixel data are not markup', () => {
    // "<svg>" etc. occur by chance in the entropy-coded data of ~2% of 10 MB photos; only containers and
    // metadata are searched for active content. A PNG with stored (uncompressed) rows spelling them out:
    const words = ['<svg>', '<script', '<html', 'javascript:'].map((w) => Buffer.from(w.padEnd(12, '.')));
    const png = storedPng(words);
    assert.ok(png.includes('<script'));
    assert.equal(inspectAndClean(png).type, 'image/png');
    // And a JPEG whose scan data contains the same bytes (patched in; structure intact).
    const jpeg = Buffer.from(fixture('plain.jpg'));
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    jpeg.write('<svg>', sos + 2 + jpeg.readUInt16BE(sos + 2) + 2, 'latin1');
    assert.equal(inspectAndClean(jpeg).type, 'image/jpeg');
  });
});
