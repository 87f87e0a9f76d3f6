import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImageRejected, inspectAndClean } from '../src/resolve/image.js';
import {
  box,
  clean,
  fixture,
  jpegSegment,
  LAT_BE,
  mp4,
  noise,
  SEF,
  samsungTrailer,
  u32be,
  VIDEO_PLACE,
  withJpegSegments,
} from './support/images.js';

// Camera trailers after a JPEG (src/resolve/jpeg-trailers.ts): Google Motion Photo videos and Samsung SEF
// trailers are recognised by their structure and cut off, so the stored file is the JPEG image(s) alone;
// anything else after the images stays invalid_evidence (image.test.ts, "rejected: polyglots …").

const XMP_HEADER = 'http://ns.adobe.com/xap/1.0/\0';

/** The primary image's XMP as Google Camera writes it (Motion Photo 1.0: Camera and Container metadata). */
function motionPhotoXmp(items: [mime: string, semantic: string, length: number][]): Buffer {
  const li = items
    .map(
      ([mime, semantic, length]) =>
        `<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="${mime}" Item:Semantic="${semantic}"` +
        ` Item:Length="${length}" Item:Padding="0"/></rdf:li>`,
    )
    .join('\n');
  const packet =
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n` +
    `<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"` +
    ` xmlns:Container="http://ns.google.com/photos/1.0/container/"` +
    ` xmlns:Item="http://ns.google.com/photos/1.0/container/item/"` +
    ` GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" GCamera:MotionPhotoPresentationTimestampUs="1033133">\n` +
    `<Container:Directory><rdf:Seq>\n${li}\n</rdf:Seq></Container:Directory>\n` +
    `</rdf:Description></rdf:RDF></x:xmpmeta>`;
  return jpegSegment(0xe1, Buffer.concat([Buffer.from(XMP_HEADER, 'latin1'), Buffer.from(packet)]));
}

/** The older Micro Video XMP: the video's offset counted from the end of the file. */
function microVideoXmp(offset: number): Buffer {
  const packet =
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
    `<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"` +
    ` GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="${offset}"` +
    ` GCamera:MicroVideoPresentationTimestampUs="1500000"/></rdf:RDF></x:xmpmeta>`;
  return jpegSegment(0xe1, Buffer.concat([Buffer.from(XMP_HEADER, 'latin1'), Buffer.from(packet)]));
}

/** A still with EXIF GPS (exif-gps-orientation.jpg) and `xmp` in it. */
const still = (xmp: Buffer) => withJpegSegments(fixture('exif-gps-orientation.jpg'), xmp);

/** What a file of just `images` is stored as: the trailer must make no difference. */
const storedAs = (...images: Buffer[]) => inspectAndClean(Buffer.concat(images)).data;

function rejects(file: Buffer, what: string) {
  assert.throws(
    () => inspectAndClean(file),
    (err: unknown) => err instanceof ImageRejected && err.key === 'invalid_evidence',
    `${what}: expected invalid_evidence`,
  );
}

const utc = (): [number, string, Buffer] => [
  SEF.imageUtcData,
  'Image_UTC_Data',
  Buffer.from('1700000000000'),
];
const mcc = (): [number, string, Buffer] => [SEF.mccData, 'MCC_Data', Buffer.from('262')];

describe('accepted and cut: Google Motion Photos', () => {
  test('a JPEG with Motion Photo XMP and an MP4 appended is stored as exactly the JPEG', () => {
    const video = mp4();
    const jpeg = still(
      motionPhotoXmp([
        ['image/jpeg', 'Primary', 0],
        ['video/mp4', 'MotionPhoto', video.length],
      ]),
    );
    const data = clean(Buffer.concat([jpeg, video]), [LAT_BE, VIDEO_PLACE, 'ftyp', 'mdat'], 'motion photo');
    assert.equal(data.length, jpeg.length);
    assert.deepEqual(data, storedAs(jpeg));
  });

  test('the older Micro Video (offset from the end of the file) is cut the same way', () => {
    const video = mp4(noise(9000, 7));
    const jpeg = still(microVideoXmp(video.length));
    const data = clean(Buffer.concat([jpeg, video]), [LAT_BE, VIDEO_PLACE, 'ftyp'], 'micro video');
    assert.deepEqual(data, storedAs(jpeg));
  });

  test('Ultra HDR: JPEG, gain-map JPEG, MP4: both JPEGs are kept, the video cut', () => {
    const video = mp4();
    const gainMap = fixture('plain.jpg');
    const primary = still(
      motionPhotoXmp([
        ['image/jpeg', 'Primary', 0],
        ['image/jpeg', 'GainMap', gainMap.length],
        ['video/mp4', 'MotionPhoto', video.length],
      ]),
    );
    const data = clean(Buffer.concat([primary, gainMap, video]), [LAT_BE, VIDEO_PLACE], 'ultra hdr');
    assert.equal(data.length, primary.length + gainMap.length);
    assert.deepEqual(data, storedAs(primary, gainMap));
    assert.deepEqual(data.subarray(primary.length), gainMap);
  });

  test('an MP4 with a 64-bit box size is read right', () => {
    const body = noise(512);
    const video = Buffer.concat([
      box('ftyp', Buffer.from('isom\0\0\0\0isom', 'latin1')),
      box('free'),
      Buffer.concat([u32be(1), Buffer.from('mdat', 'latin1'), u32be(0, 16 + body.length), body]),
    ]);
    const jpeg = fixture('plain.jpg');
    assert.deepEqual(inspectAndClean(Buffer.concat([jpeg, video])).data, jpeg);
  });

  test('markup-like bytes in the video are not searched: the video is not stored', () => {
    // Compressed video, like compressed pixels, spells "<svg>" and the like by chance (image.ts).
    const video = mp4(Buffer.concat([noise(1000), Buffer.from('<svg onload=x> <script'), noise(1000)]));
    const jpeg = fixture('plain.jpg');
    const data = clean(Buffer.concat([jpeg, video]), ['<svg', '<script'], 'markup in mdat');
    assert.deepEqual(data, jpeg);
  });
});

describe('accepted and cut: Samsung trailers', () => {
  test('a JPEG with a SEF trailer (Image_UTC_Data) is stored as exactly the JPEG', () => {
    const jpeg = fixture('exif-gps-orientation.jpg');
    const trailer = samsungTrailer([utc()]);
    const data = clean(Buffer.concat([jpeg, trailer]), [LAT_BE, 'SEFT', 'Image_UTC_Data'], 'sef');
    assert.deepEqual(data, storedAs(jpeg));
  });

  test('a Samsung motion photo (MotionPhoto_Data holding the MP4, other blocks aligned to 4 bytes) is cut', () => {
    const jpeg = fixture('exif-gps-orientation.jpg');
    const trailer = samsungTrailer(
      [[SEF.motionPhotoData, 'MotionPhoto_Data', mp4(noise(3001))], utc(), mcc()],
      true,
    );
    const file = Buffer.concat([jpeg, trailer]);
    const data = clean(file, [LAT_BE, VIDEO_PLACE, 'MotionPhoto_Data', 'SEFH'], 'samsung motion photo');
    assert.deepEqual(data, storedAs(jpeg));
  });

  test('a gain-map JPEG, then an MP4, then a SEF trailer: the JPEGs are kept', () => {
    const [jpeg, gainMap] = [fixture('exif-gps-orientation.jpg'), fixture('plain.jpg')];
    const file = Buffer.concat([jpeg, gainMap, mp4(), samsungTrailer([utc()])]);
    const data = clean(file, [VIDEO_PLACE, 'SEFT'], 'mp4 + sef');
    assert.deepEqual(data, storedAs(jpeg, gainMap));
  });

  test('the directory may list the blocks in any order', () => {
    const trailer = samsungTrailer([utc(), mcc()]);
    // Swap the two 12-byte entries.
    const dir = trailer.length - 8 - 36;
    const swapped = Buffer.concat([
      trailer.subarray(0, dir + 12),
      trailer.subarray(dir + 24, dir + 36),
      trailer.subarray(dir + 12, dir + 24),
      trailer.subarray(dir + 36),
    ]);
    const jpeg = fixture('plain.jpg');
    assert.deepEqual(inspectAndClean(Buffer.concat([jpeg, swapped])).data, jpeg);
  });
});

describe('rejected: trailers that are not what they claim (invalid_evidence)', () => {
  const jpeg = () => fixture('plain.jpg');

  test('an MP4 whose boxes run past the end or do not end exactly at the end of the file', () => {
    const video = mp4();
    const past = Buffer.from(video);
    past.writeUInt32BE(past.readUInt32BE(past.length - 4104) + 1, past.length - 4104); // mdat size + 1
    assert.equal(past.toString('latin1', past.length - 4100, past.length - 4096), 'mdat');
    rejects(Buffer.concat([jpeg(), past]), 'mdat runs past the end');
    rejects(Buffer.concat([jpeg(), video.subarray(0, video.length - 3)]), 'mp4 cut short');
    rejects(Buffer.concat([jpeg(), video, Buffer.from('abc')]), 'mp4 + 3 bytes');
    rejects(Buffer.concat([jpeg(), video, Buffer.alloc(16)]), 'mp4 + zeros');
    rejects(Buffer.concat([jpeg(), video, Buffer.from('<p>hi</p>')]), 'mp4 + html');
  });

  test('an MP4 without ftyp first, with a size-0 box, or a box with a binary type', () => {
    const video = mp4();
    const moov = box('moov', box('mvhd', Buffer.alloc(100)));
    rejects(Buffer.concat([jpeg(), moov, box('mdat', noise(64))]), 'no ftyp');
    const toEnd = Buffer.from(video);
    toEnd.writeUInt32BE(0, toEnd.length - 4104);
    rejects(Buffer.concat([jpeg(), toEnd]), 'mdat of size 0 (to the end)');
    const binary = Buffer.from(video);
    binary.write('\x00\x01\x02\x03', binary.length - 4100, 'latin1');
    rejects(Buffer.concat([jpeg(), binary]), 'box type not text');
  });

  test('a ZIP or HTML before or after a valid video or SEF trailer', () => {
    const zip = Buffer.concat([
      Buffer.from('PK\x03\x04', 'latin1'),
      Buffer.alloc(26),
      Buffer.from('PK\x05\x06'),
    ]);
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    for (const [what, file] of [
      ['zip + mp4', Buffer.concat([jpeg(), zip, mp4()])],
      ['html + mp4', Buffer.concat([jpeg(), html, mp4()])],
      ['zip + sef', Buffer.concat([jpeg(), zip, samsungTrailer([utc()])])],
      ['sef + html', Buffer.concat([jpeg(), samsungTrailer([utc()]), html])],
      ['html + "SEFT"', Buffer.concat([jpeg(), html, Buffer.from('\x10\0\0\0SEFT', 'latin1')])],
    ] as const)
      rejects(file, what);
  });

  test('a SEFT footer with an inconsistent directory', () => {
    const good = samsungTrailer([utc(), mcc()]);
    const dir = good.length - 8 - 36;
    assert.equal(good.toString('latin1', dir, dir + 4), 'SEFH');
    assert.deepEqual(inspectAndClean(Buffer.concat([jpeg(), good])).data, jpeg());
    const broken = (what: string, edit: (t: Buffer) => void) => {
      const t = Buffer.from(good);
      edit(t);
      rejects(Buffer.concat([jpeg(), t]), what);
    };
    broken('directory length reaching into the JPEG', (t) => t.writeUInt32LE(t.length + 100, t.length - 8));
    broken('a directory length that does not lead to SEFH', (t) => t.writeUInt32LE(24, t.length - 8));
    broken('no SEFH where the directory starts', (t) => t.write('SEFX', dir, 'latin1'));
    broken('no entries', (t) => t.writeUInt32LE(0, dir + 8));
    broken('more entries than the directory holds', (t) => t.writeUInt32LE(3, dir + 8));
    broken('an offset pointing into the JPEG', (t) => t.writeUInt32LE(dir + 10, dir + 16));
    broken('a block running into the directory', (t) =>
      t.writeUInt32LE(t.readUInt32LE(dir + 28) + 1, dir + 32),
    );
    broken('a block smaller than its header', (t) => t.writeUInt32LE(4, dir + 20));
    broken('a block whose type differs from its entry', (t) => t.writeUInt16LE(0x0a30, dir + 14));
    broken('a name longer than the block', (t) => t.writeUInt32LE(1000, 4));
    broken('two entries for one block', (t) => t.copy(t, dir + 24, dir + 12, dir + 24));
    // Bytes no block accounts for: the first block listed 8 bytes shorter leaves a gap before the second.
    broken('a gap between blocks', (t) => t.writeUInt32LE(t.readUInt32LE(dir + 20) - 8, dir + 20));
    broken('a block overlapping the next', (t) => t.writeUInt32LE(t.readUInt32LE(dir + 20) + 4, dir + 20));
    // And 8 bytes slipped in between the last block and the directory, the offsets moved to match.
    const slipped = Buffer.concat([good.subarray(0, dir), Buffer.from('<a href>'), good.subarray(dir)]);
    for (const e of [0, 1])
      slipped.writeUInt32LE(slipped.readUInt32LE(dir + 8 + 16 + 12 * e) + 8, dir + 8 + 16 + 12 * e);
    rejects(Buffer.concat([jpeg(), slipped]), 'bytes between the blocks and the directory');
  });

  test('a SEF trailer whose first block does not start right after the images', () => {
    // Four bytes of something before the first block: more than alignment padding, and not an MP4.
    rejects(
      Buffer.concat([jpeg(), Buffer.from('abcd'), samsungTrailer([utc()])]),
      'bytes before the SEF blocks',
    );
    rejects(Buffer.concat([jpeg(), Buffer.from('ab'), samsungTrailer([utc()])]), 'two bytes before');
  });
});
