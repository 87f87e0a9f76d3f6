import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImageRejected, inspectAndClean } from '../src/resolve/image.js';
import {
  box,
  clean,
  fixture,
  LAT_BE,
  noise,
  SEF,
  samsungTrailer,
  u16be,
  VIDEO_PLACE,
} from './support/images.js';

// HEIC motion photos (src/resolve/heic-video.ts): the video (an MP4 appended after the HEIC's boxes, Google;
// a top-level `mpvd` / `sefd` box, Samsung) is removed, cut off at the end of the file or zero-filled in
// place, so neither it nor the place it holds is stored; the image's items stay where they were.

const heic = fixture('exif-gps.heic'); // ftyp, meta, mdat
const APPLE_PLACE = 'com.apple.quicktime.location.ISO6709';

/** An MP4 with the place in `moov/udta/©xyz` and in a QuickTime `moov/meta` key as iPhones write it. */
function video(mdat = noise(4096)): Buffer {
  const xyz = box('\xa9xyz', u16be(VIDEO_PLACE.length, 0x15c7), Buffer.from(VIDEO_PLACE, 'latin1'));
  const keys = box('meta', box('keys', Buffer.from(APPLE_PLACE)), box('ilst', Buffer.from(VIDEO_PLACE)));
  return Buffer.concat([
    box('ftyp', Buffer.from('mp42\0\0\0\0isommp42', 'latin1')),
    box('moov', box('mvhd', Buffer.alloc(100)), box('udta', xyz), keys),
    box('mdat', mdat),
  ]);
}

/** The primary's XMP (GCamera:MotionPhoto, Container:Directory), in an `mdat` box of its own. */
function motionPhotoXmp(videoLength: number): Buffer {
  const packet =
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
    `<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"` +
    ` xmlns:Container="http://ns.google.com/photos/1.0/container/"` +
    ` xmlns:Item="http://ns.google.com/photos/1.0/container/item/" GCamera:MotionPhoto="1"` +
    ` GCamera:MotionPhotoVersion="1"><Container:Directory><rdf:Seq>` +
    `<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/heic" Item:Semantic="Primary"/></rdf:li>` +
    `<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"` +
    ` Item:Length="${videoLength}" Item:Padding="0"/></rdf:li>` +
    `</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>`;
  return box('mdat', Buffer.from(packet));
}

/** The fixture's `iloc` (version 1, 4-byte fields): per item, its construction method and [offset, length] extents. */
function items(file: Buffer) {
  const iloc = file.indexOf('iloc', 0, 'latin1') + 4;
  assert.equal(file[iloc], 1);
  assert.equal(file.readUInt16BE(iloc + 4), 0x4440);
  const out: { method: number; baseAt: number; extents: [number, number][] }[] = [];
  let p = iloc + 8;
  for (let i = 0; i < file.readUInt16BE(iloc + 6); i++) {
    const n = file.readUInt16BE(p + 10);
    const base = file.readUInt32BE(p + 6);
    const extents = Array.from({ length: n }, (_, x): [number, number] => [
      base + file.readUInt32BE(p + 12 + 8 * x),
      file.readUInt32BE(p + 16 + 8 * x),
    ]);
    out.push({ method: file.readUInt16BE(p + 2) & 15, baseAt: p + 6, extents });
    p += 12 + n * 8;
  }
  return out;
}

/** The bytes of the items stored in the file (construction method 0). */
const itemBytes = (file: Buffer) =>
  items(file)
    .filter((item) => item.method === 0)
    .map((item) => Buffer.concat(item.extents.map(([a, n]) => file.subarray(a, a + n))));

/** The fixture with `inserted` between `meta` and `mdat`, the item offsets moved along when `shift`. */
function withBoxBeforeMdat(inserted: Buffer, shift = true): Buffer {
  const mdat = heic.indexOf('mdat', 0, 'latin1') - 4;
  const file = Buffer.concat([heic.subarray(0, mdat), inserted, heic.subarray(mdat)]);
  for (const item of items(file))
    if (shift && item.method === 0)
      file.writeUInt32BE(file.readUInt32BE(item.baseAt) + inserted.length, item.baseAt);
  return file;
}

function rejects(file: Buffer, what: string) {
  assert.throws(
    () => inspectAndClean(file),
    (err: unknown) => err instanceof ImageRejected && err.key === 'invalid_evidence',
    `${what}: expected invalid_evidence`,
  );
}

const stored = (file: Buffer) => inspectAndClean(file).data;
const gone = [LAT_BE, VIDEO_PLACE, APPLE_PLACE, 'moov', 'mp42'];

describe('HEIC motion photos: the video is not stored', () => {
  test('Google: an MP4 appended after the HEIC is cut off, the image is stored as it was', () => {
    const mp4 = video();
    const image = Buffer.concat([heic, motionPhotoXmp(mp4.length)]);
    const data = clean(Buffer.concat([image, mp4]), gone, 'heic + mp4');
    assert.equal(data.length, image.length);
    assert.deepEqual(data, stored(image));
    assert.deepEqual(itemBytes(data), itemBytes(stored(heic)));
  });

  test('Samsung: an `mpvd` box (and a `sefd` box) at the end of the file are cut off', () => {
    const mpvd = box('mpvd', video());
    const sefd = box(
      'sefd',
      samsungTrailer([[SEF.motionPhotoData, 'MotionPhoto_Data', Buffer.from('mpv2')]]),
    );
    for (const [what, tail] of [
      ['mpvd', mpvd],
      ['mpvd + sefd', Buffer.concat([mpvd, sefd])],
      ['sefd + mpvd', Buffer.concat([sefd, mpvd])],
    ] as const) {
      const data = clean(Buffer.concat([heic, tail]), [...gone, 'mpvd'], what);
      assert.deepEqual(data, stored(heic), what);
    }
  });

  test('Samsung: an `mpvd` box before the media data is zero-filled in place; the items stay right', () => {
    const mpvd = box(
      'mpvd',
      video(Buffer.concat([noise(500), Buffer.from('<svg onload=x> <script'), noise(500)])),
    );
    const file = withBoxBeforeMdat(mpvd);
    const data = clean(file, [...gone, '<svg', '<script'], 'mpvd before mdat');
    assert.equal(data.length, file.length);
    // The box header stays (the boxes still tile the file), its payload is zeros, nothing else moved.
    const at = file.indexOf(mpvd);
    assert.deepEqual(data.subarray(at, at + 8), mpvd.subarray(0, 8));
    assert.ok(data.subarray(at + 8, at + mpvd.length).every((b) => b === 0));
    assert.deepEqual(data.subarray(at + mpvd.length), stored(heic).subarray(at));
    assert.deepEqual(itemBytes(data), itemBytes(stored(heic)));
  });

  test('an item of the image inside the video: refused rather than the photo damaged', () => {
    // The `mpvd` inserted without moving the item offsets: the items now point into it.
    rejects(withBoxBeforeMdat(box('mpvd', video()), false), 'item in mpvd');
    // An item pointing past the HEIC's own boxes, into the appended MP4.
    const file = Buffer.concat([heic, video()]);
    const exif = items(file)[0];
    file.writeUInt32BE(heic.length + 8, exif.baseAt);
    rejects(file, 'item in the appended mp4');
  });

  test('data that is not ISO BMFF boxes is still refused, after the video too', () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), noise(200)]);
    rejects(Buffer.concat([heic, zip]), 'heic + zip');
    rejects(Buffer.concat([heic, video(), zip]), 'heic + mp4 + zip');
    rejects(Buffer.concat([heic, box('mpvd', video()), zip]), 'heic + mpvd + zip');
  });
});
