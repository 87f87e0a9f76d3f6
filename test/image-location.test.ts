import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { inspectAndClean } from '../src/resolve/image.js';
import {
  clean,
  decodeText,
  encodeText,
  fixture,
  fixtureTiff,
  GPS_IFD,
  jpegScans,
  jpegSegment,
  LAT_BE,
  LON_BE,
  pngChunk,
  pngChunks,
  type TextEncoding,
  tiff,
  u16be,
  u32be,
  withJpegSegments,
  withMdat,
  withoutWebpChunk,
  withPngChunks,
  withWebpChunk,
} from './support/images.js';

// Location data that readers (ExifTool, the XMP Toolkit, ImageMagick) find in evidence photos beyond EXIF
// GPS in its usual place and UTF-8 XMP (those are in image.test.ts): each test builds a small file carrying
// it, and checks that the place is gone, the file is still one image of its type (accepted again, unchanged
// by a second cleaning) and its pixels are untouched.

/** IPTC IIM datasets [record, dataset, value]. */
const iim = (datasets: [number, number, string][]) =>
  Buffer.concat(
    datasets.map(([rec, ds, v]) =>
      Buffer.concat([Buffer.from([0x1c, rec, ds]), u16be(v.length), Buffer.from(v)]),
    ),
  );

/** Photoshop image resources [id, data], each with an empty name, padded to even lengths. */
const irb = (resources: [number, Buffer][]) =>
  Buffer.concat(
    resources.map(([id, data]) =>
      Buffer.concat([
        Buffer.from('8BIM', 'latin1'),
        u16be(id, 0),
        u32be(data.length),
        data,
        Buffer.alloc(data.length % 2),
      ]),
    ),
  );

/** Where IPTC keeps a place: content location code and name, city, sub-location, state, country code and name. */
const IPTC_PLACE: [number, number, string][] = [
  [2, 26, 'ALX'],
  [2, 27, 'Alexanderplatz'],
  [2, 90, 'Berlin'],
  [2, 92, 'Mitte'],
  [2, 95, 'Brandenburg'],
  [2, 100, 'DEU'],
  [2, 101, 'Germany'],
];
const IPTC_NAMES = IPTC_PLACE.map(([, , v]) => v);
const PS = 'Photoshop 3.0\0';

/** Photos with no location in them to build on: the JPEG, PNG and WebP have no metadata, the HEIC no GPS. */
const plainJpeg = () => fixture('plain.jpg');
const plainPng = () => {
  const png = fixture('exif-gps.png');
  return Buffer.concat([
    png.subarray(0, 8),
    ...pngChunks(png).flatMap(([t, c]) => (t === 'eXIf' ? [] : [c])),
  ]);
};
const plainWebp = () => withoutWebpChunk(fixture('exif-gps.webp'), 'EXIF');
const cleanHeic = () => inspectAndClean(fixture('exif-gps.heic')).data;

describe('JPEG: IPTC and Photoshop resources (APP13)', () => {
  test('IPTC place datasets, and EXIF GPS and XMP kept as Photoshop resources, are gone; lengths stay', () => {
    const xmp = Buffer.from(
      `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
        `<rdf:Description xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/' photoshop:City='Potsdam'/>` +
        `</rdf:RDF></x:xmpmeta>`,
    );
    const resources = irb([
      [0x0404, iim([[1, 90, '\x1b%G'], ...IPTC_PLACE, [2, 120, 'Parcel at Alexanderplatz']])],
      [0x0422, fixtureTiff()],
      [0x0424, xmp],
    ]);
    const app13 = jpegSegment(0xed, Buffer.concat([Buffer.from(PS, 'latin1'), resources]));
    const file = withJpegSegments(fixture('exif-gps-orientation.jpg'), app13);
    const gone = [...IPTC_NAMES, 'Potsdam', 'Photoshop 3.0', '8BIM', LAT_BE, LON_BE];
    const out = clean(file, gone, 'APP13');
    // The segment is still there, as long as before, with nothing in it; the rest is as it was.
    assert.equal(out.length, file.length);
    assert.deepEqual(out.subarray(0, 6), file.subarray(0, 6));
    assert.deepEqual(out.subarray(6, 4 + app13.length - 2), Buffer.alloc(app13.length - 4));
    assert.deepEqual(jpegScans(out), jpegScans(file));
    assert.ok(out.includes('TestCam\0'), 'the EXIF APP1 (camera, orientation) is kept');
  });

  test('Photoshop data split over two APP13 segments, and the old "Adobe_Photoshop2.5:" header', () => {
    const data = irb([[0x0404, iim(IPTC_PLACE)]]);
    const cut = data.indexOf('Mitte') + 2;
    const split = withJpegSegments(
      plainJpeg(),
      jpegSegment(0xed, Buffer.concat([Buffer.from(PS, 'latin1'), data.subarray(0, cut)])),
      jpegSegment(0xed, Buffer.concat([Buffer.from(PS, 'latin1'), data.subarray(cut)])),
    );
    const old = withJpegSegments(
      plainJpeg(),
      jpegSegment(0xed, Buffer.concat([Buffer.from('Adobe_Photoshop2.5:', 'latin1'), Buffer.alloc(8), data])),
    );
    for (const [what, file] of [
      ['split', split],
      ['old header', old],
    ] as const) {
      const out = clean(file, [...IPTC_NAMES.filter((n) => n !== 'Mitte'), 'Mi', 'tte'], what);
      assert.equal(out.length, file.length, what);
      assert.deepEqual(jpegScans(out), jpegScans(file), what);
    }
  });
});

describe('PNG: IPTC, EXIF and place names in other chunks', () => {
  const text = (keyword: string, value: string) => pngChunk('tEXt', Buffer.from(`${keyword}\0${value}`));
  /** ImageMagick's raw profile: the payload hex-encoded in a text chunk. */
  const rawProfile = (name: string, data: Buffer) =>
    text(
      `Raw profile type ${name}`,
      `\n${name}\n${String(data.length).padStart(8)}\n${data.toString('hex')}\n`,
    );

  test('ImageMagick copies EXIF and XMP properties into text chunks named after them: place names go', () => {
    const png = fixture('exif-gps.png');
    const chunks = [
      text('exif:GPSLatitude', '52/1, 31/1, 7518/625'),
      text('exif:GPSLongitude', '13/1, 24/1, 22293/1250'),
      text('exif:GPSInfo', '122'),
      text('photoshop:City', 'Berlin'),
      pngChunk('zTXt', Buffer.concat([Buffer.from('photoshop:Country\0\0'), deflateSync('Germany')])),
      pngChunk('iTXt', Buffer.from('Iptc4xmpCore:Location\0\0\0\0\0Mitte')),
      rawProfile('iptc', iim(IPTC_PLACE)),
      rawProfile('8bim', irb([[0x0404, iim(IPTC_PLACE)]])),
      text('exif:Make', 'TestCam'),
      text('exif:SubjectLocation', '8, 9'),
      text('date:create', '2024-05-01T10:00:00+00:00'),
      text('Comment', 'hello'),
    ];
    const file = withPngChunks(png, ...chunks);
    const out = clean(
      file,
      [
        '52/1, 31/1',
        '13/1, 24/1',
        'Berlin',
        'Mitte',
        'photoshop:Country',
        Buffer.from('Berlin').toString('hex'),
      ],
      'ImageMagick text',
    );
    const keywords = pngChunks(out)
      .filter(([t]) => t === 'tEXt' || t === 'zTXt' || t === 'iTXt')
      .map(([, c]) => c.toString('latin1', 8, c.indexOf(0, 8)));
    assert.deepEqual(keywords, ['exif:Make', 'exif:SubjectLocation', 'date:create', 'Comment']);
    const image = (p: Buffer) => pngChunks(p).filter(([t]) => ['IHDR', 'PLTE', 'IDAT', 'IEND'].includes(t));
    assert.deepEqual(image(out), image(file), 'the image chunks are untouched');
  });

  test('EXIF in an eXIf chunk spelt otherwise (exIf) or the once-proposed zxIf goes too', () => {
    const [exif] = pngChunks(fixture('exif-gps.png')).filter(([t]) => t === 'eXIf');
    const withoutExif = plainPng();
    for (const type of ['exIf', 'zxIf']) {
      const file = withPngChunks(withoutExif, pngChunk(type, exif[1].subarray(8, -4)));
      const out = clean(file, [LAT_BE, LON_BE], type);
      assert.deepEqual(out, withoutExif, `${type}: only that chunk is dropped`);
    }
  });
});

describe('XMP in UTF-16 and UTF-32', () => {
  const NS =
    `xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' ` +
    `xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'`;
  const meta =
    `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n` +
    `<rdf:Description rdf:about='' ${NS} xmp:CreatorTool='TestCam 1.0' photoshop:City='Berlin'>\n` +
    `<exif:GPSLatitude>52,31.20048N</exif:GPSLatitude><exif:GPSLongitude>13,24.29724E</exif:GPSLongitude>\n` +
    `</rdf:Description></rdf:RDF></x:xmpmeta>`;
  const packet = `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n${meta}\n<?xpacket end='w'?>`;
  const PLACE = ['Berlin', '52,31.20048N', '13,24.29724E'];
  /** The text with each place replaced by as many spaces. */
  const blanked = (t: string) => PLACE.reduce((s, p) => s.replace(p, ' '.repeat(p.length)), t);
  const ENCODINGS: TextEncoding[] = ['utf-16be', 'utf-16le', 'utf-32be', 'utf-32le'];

  /** Cleans `file`, which holds `xml` encoded, and checks that exactly the place values became spaces. */
  function assertWideClean(file: Buffer, xml: string, enc: TextEncoding, what: string) {
    const encoded = encodeText(xml, enc);
    assert.ok(file.includes(encoded), what);
    const out = clean(
      file,
      PLACE.map((p) => encodeText(p, enc)),
      what,
    );
    assert.equal(out.length, file.length, `${what}: same length`);
    const at = file.indexOf(encoded);
    assert.equal(decodeText(out.subarray(at, at + encoded.length), enc), blanked(xml), what);
    assert.deepEqual(out.subarray(0, at), file.subarray(0, at), `${what}: nothing before the XMP changes`);
    assert.deepEqual(out.subarray(at + encoded.length), file.subarray(at + encoded.length), what);
  }

  for (const enc of ENCODINGS) {
    test(`${enc}: a packet in JPEG APP1, a JPEG comment, a WebP XMP chunk and HEIC media data`, () => {
      const data = encodeText(packet, enc);
      const app1 = jpegSegment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0'), data]));
      const com = jpegSegment(0xfe, Buffer.concat([Buffer.from('scanned with: '), data]));
      assertWideClean(withJpegSegments(plainJpeg(), app1), packet, enc, `${enc} APP1`);
      assertWideClean(withJpegSegments(plainJpeg(), com), packet, enc, `${enc} COM`);
      assertWideClean(withWebpChunk(plainWebp(), 'XMP ', data), packet, enc, `${enc} WebP`);
      assertWideClean(withMdat(cleanHeic(), data), packet, enc, `${enc} HEIC`);
    });
  }

  test('a payload read whole as XMP, without a packet wrapper: the BOM or the zero bytes tell the encoding', () => {
    for (const enc of ENCODINGS)
      for (const bom of ['\ufeff', '']) {
        const xml = bom + meta;
        const webp = withWebpChunk(plainWebp(), 'XMP ', encodeText(xml, enc));
        assertWideClean(webp, xml, enc, `${enc} ${bom ? 'with' : 'without'} BOM`);
      }
  });
});

describe('EXIF: wherever a reader finds GPS or IPTC in it', () => {
  const ORIENTATION = Buffer.concat([u16be(0x0112, 3), u32be(1), u16be(6, 0)]);
  const orientation: [number, number, number, Buffer] = [0x0112, 3, 1, u16be(6, 0)];
  const app1 = (payload: Buffer) => jpegSegment(0xe1, payload);

  test('JPEG: an EXIF APP1 header as some cameras write it ("Exif\\0\\xff", or bytes before "Exif")', () => {
    const kodak = Buffer.from(fixture('exif-gps-orientation.jpg'));
    kodak.write('Exif\0\xff', kodak.indexOf('Exif\0\0'), 'latin1');
    const garbage = withJpegSegments(
      plainJpeg(),
      app1(Buffer.concat([Buffer.from('\0\0Exif\0\0'), fixtureTiff()])),
    );
    for (const [what, file] of [
      ['Exif\\0\\xff', kodak],
      ['2 bytes before Exif', garbage],
    ] as const) {
      const out = clean(file, [LAT_BE, LON_BE], what);
      assert.equal(out.length, file.length);
      assert.ok(out.includes(ORIENTATION), `${what}: orientation kept`);
      assert.deepEqual(jpegScans(out), jpegScans(file));
    }
  });

  test('JPEG: EXIF continued in the next APP1 segment (multi-segment EXIF) loses its GPS there', () => {
    const t = fixtureTiff();
    const gpsIfd = 0x7a; // the fixture's GPS IFD, and all GPS values after it, go to the second segment
    assert.equal(t.readUInt16BE(0x52), 0x8825);
    assert.equal(t.readUInt32BE(0x52 + 8), gpsIfd);
    const first = app1(Buffer.concat([Buffer.from('Exif\0\0'), t.subarray(0, gpsIfd)]));
    const file = withJpegSegments(
      plainJpeg(),
      first,
      app1(Buffer.concat([Buffer.from('Exif\0\0'), t.subarray(gpsIfd)])),
    );
    const out = clean(file, [LAT_BE, LON_BE], 'multi-segment EXIF');
    assert.equal(out.length, file.length);
    assert.ok(out.includes(first), 'the first segment (IFD0, orientation) is unchanged');
    assert.deepEqual(jpegScans(out), jpegScans(file));
  });

  test('a GPS IFD linked from IFD1 or from the Exif IFD', () => {
    const fromIfd1 = tiff([[orientation], [[0x8825, 4, 1, { ifd: 2 }]], GPS_IFD], { 0: 1 });
    const fromExifIfd = tiff([
      [orientation, [0x8769, 4, 1, { ifd: 1 }]],
      [
        [0x9000, 7, 4, Buffer.from('0232')],
        [0x8825, 4, 1, { ifd: 2 }],
      ],
      GPS_IFD,
    ]);
    for (const [what, t] of [
      ['IFD1', fromIfd1],
      ['Exif IFD', fromExifIfd],
    ] as const) {
      const jpeg = withJpegSegments(plainJpeg(), app1(Buffer.concat([Buffer.from('Exif\0\0'), t])));
      const out = clean(jpeg, [LAT_BE, LON_BE, 'N\0', 'E\0'], `JPEG, GPS from ${what}`);
      assert.ok(out.includes(ORIENTATION), what);
      assert.deepEqual(jpegScans(out), jpegScans(jpeg));
      const webp = withWebpChunk(plainWebp(), 'EXIF', t);
      clean(webp, [LAT_BE, LON_BE], `WebP, GPS from ${what}`);
    }
  });

  test('IPTC (IPTC-NAA, 0x83BB) and Photoshop resources (0x8649) in IFD0', () => {
    const iptc = iim(IPTC_PLACE);
    const photoshop = irb([[0x0404, iim([[2, 90, 'Potsdam']])]]);
    const t = tiff([[orientation, [0x83bb, 7, iptc.length, iptc], [0x8649, 1, photoshop.length, photoshop]]]);
    const jpeg = withJpegSegments(plainJpeg(), app1(Buffer.concat([Buffer.from('Exif\0\0'), t])));
    const out = clean(jpeg, [...IPTC_NAMES, 'Potsdam'], 'IPTC in EXIF');
    assert.equal(out.length, jpeg.length);
    assert.ok(out.includes(ORIENTATION));
    assert.deepEqual(jpegScans(out), jpegScans(jpeg));
  });
});

describe('HEIC: an Exif item without "Exif\\0\\0"', () => {
  const heic = fixture('exif-gps.heic');
  /** The fixture's Exif item: where its base offset and extent length are written, and where its data starts. */
  function exifItem(file: Buffer) {
    const infe = file.indexOf('Exif', file.indexOf('iinf'), 'latin1');
    const id = file.readUInt16BE(infe - 4);
    // iloc version 1, 4-byte offsets, lengths and base offsets, no index; each item: id, construction
    // method, data reference, base offset, extent count, extents (offset, length).
    const iloc = file.indexOf('iloc', 0, 'latin1') + 4;
    assert.equal(file[iloc], 1);
    assert.equal(file.readUInt16BE(iloc + 4), 0x4440);
    let p = iloc + 8;
    for (let i = 0; i < file.readUInt16BE(iloc + 6); i++) {
      const extents = file.readUInt16BE(p + 10);
      if (file.readUInt16BE(p) === id) {
        assert.equal(extents, 1);
        const start = file.readUInt32BE(p + 6) + file.readUInt32BE(p + 12);
        return { base: p + 6, length: p + 16, start };
      }
      p += 12 + extents * 8;
    }
    assert.fail('no Exif item');
  }

  test('the TIFF header is found at the offset the item gives, with or without "Exif\\0\\0" before it', () => {
    const { base, length, start } = exifItem(heic);
    const end = start + heic.readUInt32BE(length);
    assert.equal(heic.toString('latin1', start, start + 12), '\0\0\0\x06Exif\0\0MM');
    // The offset (6) kept, but no "Exif\0\0" behind it.
    const noMarker = Buffer.from(heic);
    noMarker.fill(0, start + 4, start + 10);
    // The item starting 6 bytes later, with offset 0: the TIFF header follows right away.
    const offsetZero = Buffer.from(heic);
    offsetZero.fill(0, start, start + 10);
    offsetZero.writeUInt32BE(heic.readUInt32BE(base) + 6, base);
    offsetZero.writeUInt32BE(heic.readUInt32BE(length) - 6, length);
    for (const [what, file] of [
      ['no marker', noMarker],
      ['offset 0', offsetZero],
    ] as const) {
      const out = clean(file, [LAT_BE, LON_BE], what);
      assert.equal(out.length, file.length);
      // Only the Exif item changed.
      const changed = [...out.keys()].filter((i) => out[i] !== file[i]);
      assert.ok(changed.length > 0 && changed.every((i) => i >= start + 10 && i < end), what);
    }
  });
});

describe('a photo without location data', () => {
  test('comes back byte for byte', () => {
    for (const [what, file] of [
      ['JPEG', plainJpeg()],
      ['PNG', plainPng()],
      ['WebP', plainWebp()],
      ['HEIC', cleanHeic()],
    ] as const)
      assert.deepEqual(inspectAndClean(file).data, file, what);
  });
});
