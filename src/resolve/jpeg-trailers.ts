/**
 * Camera trailers after a JPEG's images: what phones append behind the last EOI, recognised by structure
 * and cut off (SPEC §5, evidence photos).
 *
 * Two kinds are common enough that rejecting them means a customer cannot upload a photo straight from the
 * phone:
 * - Google Motion Photos (Pixel and many other Android cameras, on by default): an MP4 video appended after
 *   the JPEG and after any further JPEGs (Ultra HDR gain map, MPF images). The primary image's XMP announces
 *   it (GCamera:MotionPhoto with a Container:Directory item of Item:Mime "video/mp4" and Item:Length, or the
 *   older GCamera:MicroVideo/MicroVideoOffset), but the XMP is not needed to find it: the video is an ISO
 *   BMFF file whose top-level boxes, `ftyp` first, end exactly at the end of the file.
 * - Samsung's SEF trailer ("Samsung Extended Format": Image_UTC_Data, MotionPhoto_Data with the video of a
 *   Samsung motion photo, depth maps, editor data …), laid out as ExifTool's Samsung.pm ProcessSamsung reads
 *   it. From the end: "SEFT"; before it a 4-byte little-endian length of the directory; the directory starts
 *   with "SEFH", a 4-byte version and a 4-byte entry count, then 12-byte entries: 4 bytes (two zero bytes
 *   and the 2-byte block type), the block's offset counted back from the "SEFH" and its size. Each block
 *   starts with the same 4 bytes as its entry, then a 4-byte name length, the name ("MotionPhoto_Data") and
 *   the data (the MP4). Blocks are written one after the other, possibly aligned to 4 bytes. An MP4 may also
 *   sit between the images and a SEF trailer.
 *
 * Why cutting is safe: the stored file ends after the last JPEG image, so it is nothing but the image (no
 * polyglot is stored, whatever the trailer held) and the video's own metadata, its location included (MP4
 * `©xyz`, Samsung's data blocks), is gone with it. Only these two shapes are cut, and only when they are
 * consistent: an MP4 whose boxes do not end exactly where they must, a SEF directory pointing outside the
 * trailer or not accounting for every byte of it, or anything else (ZIP, HTML, unknown bytes) still makes the
 * file `invalid_evidence`. The Motion Photo XMP of the primary image is left as it is: the format says
 * readers must check that a video is really there (editors keep that XMP when they drop the video), and
 * rewriting XMP is riskier than a pointer to nothing.
 */

/** ISO BMFF box types: four printable Latin-1 characters (top-level ones are plain ASCII). */
const BOX_TYPE = /^[\x20-\x7e]{4}$/;
/** Samsung writes blocks aligned to 4 bytes: up to 3 bytes may lie between two blocks or before the directory. */
const SEF_ALIGN = 3;

/** Whether bytes [from, end of file) are a camera trailer (an MP4, a Samsung SEF trailer, or an MP4 and one). */
export function isCameraTrailer(buf: Buffer, from: number): boolean {
  let end = buf.length;
  if (end - from >= 8 && buf.toString('latin1', end - 4, end) === 'SEFT') {
    const start = samsungTrailerStart(buf, from);
    if (start < 0) return false;
    end = start;
  }
  return end === from || isMp4(buf, from, end);
}

/** Whether [start, end) is exactly an ISO BMFF file: top-level boxes from `ftyp` on, the last ending at `end`. */
export function isMp4(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 16 || buf.toString('latin1', start + 4, start + 8) !== 'ftyp') return false;
  // No box may pass `end`, and the boxes go on until one ends there.
  let o = start;
  while (o < end) {
    if (o + 8 > end) return false;
    let size = buf.readUInt32BE(o);
    let head = 8;
    if (size === 1) {
      if (o + 16 > end) return false;
      size = Number(buf.readBigUInt64BE(o + 8));
      head = 16;
    }
    // A size of 0 ("to the end of the file") would span anything: not accepted.
    if (size < head || size > end - o || !BOX_TYPE.test(buf.toString('latin1', o + 4, o + 8))) return false;
    if (o === start && size < 16) return false; // ftyp: major brand and minor version at least
    o += size;
  }
  return true;
}

/**
 * The start of the Samsung SEF trailer that ends the file (its first data block), or -1 when the directory is
 * inconsistent: entries pointing before `from` or into the directory, blocks whose header differs from their
 * entry or whose name overruns them, blocks overlapping, or bytes of the trailer no block accounts for.
 */
export function samsungTrailerStart(buf: Buffer, from: number): number {
  const end = buf.length;
  const len = buf.readUInt32LE(end - 8);
  const dir = end - 8 - len;
  if (len < 12 || dir < from || buf.toString('latin1', dir, dir + 4) !== 'SEFH') return -1;
  const count = buf.readUInt32LE(dir + 8);
  if (count < 1 || 12 + 12 * count > len) return -1;
  const blocks: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const e = dir + 12 + 12 * i;
    const back = buf.readUInt32LE(e + 4);
    const size = buf.readUInt32LE(e + 8);
    const start = dir - back;
    if (start < from || size < 8 || size > back) return -1;
    if (buf.readUInt32LE(start) !== buf.readUInt32LE(e)) return -1;
    if (8 + buf.readUInt32LE(start + 4) > size) return -1;
    blocks.push([start, start + size]);
  }
  blocks.sort((a, b) => a[0] - b[0]);
  // The blocks follow one another (with alignment padding at most) up to the directory.
  let at = blocks[0][0];
  for (const [start, stop] of blocks) {
    if (start < at || start - at > SEF_ALIGN) return -1;
    at = stop;
  }
  if (dir - at > SEF_ALIGN) return -1;
  return blocks[0][0];
}
