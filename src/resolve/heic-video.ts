/**
 * The video of a HEIC motion photo, found among the file's top-level boxes and removed (SPEC §5, evidence
 * photos): the same idea as jpeg-trailers.ts, for HEIC.
 *
 * Two layouts:
 * - Google Motion Photo 1.0: "a primary still image file, JPEG, HEIC, or AVIF, with a secondary video file
 *   appended to it"; the primary's XMP (GCamera:MotionPhoto, Container:Directory with Item:Length) says how
 *   long the video is, but the XMP is not needed to find it: the MP4 is an ISO BMFF file of its own, so after
 *   the HEIC's top-level boxes a second `ftyp` box starts it, and its boxes run to the end of the file.
 * - Samsung: the MP4 in a top-level `mpvd` box (ExifTool QuickTime.pm: MotionPhotoVideo, "MP4-format video
 *   saved in Samsung motion-photo HEIC images", written last), and Samsung's trailer data (the SEF blocks
 *   a JPEG carries after its EOI) in a top-level `sefd` box (SamsungTrailer).
 * Either way the video carries its own metadata, the place it was taken included (MP4 `moov/udta/©xyz`,
 * `meta` keys like com.apple.quicktime.location.ISO6709), so it must not be stored.
 *
 * How: HEIC item locations (`iloc`) are absolute file offsets, so nothing before an item's data may move.
 * Video boxes at the end of the file are cut off; a video box with anything else after it keeps its
 * header (the boxes still tile the file) and gets its payload zero-filled. If an item of the image points
 * into bytes that would be removed, the file is refused rather than the photo damaged. The Motion Photo
 * XMP is left as it is, as for JPEG: readers must check that the video is really there.
 */
import { damaged } from './image-errors.js';
import type { Ranges } from './xmp.js';

/** A top-level box: type, content start, end, box start. */
export type Box = readonly [type: string, content: number, end: number, start: number];

const SAMSUNG_VIDEO = new Set(['mpvd', 'sefd']);

/** The boxes of a motion photo's video: from a second `ftyp` on, and Samsung's `mpvd` / `sefd` boxes. */
export function videoBoxes(top: readonly Box[]): Set<Box> {
  const appended = top.findIndex(([type], i) => i > 0 && type === 'ftyp');
  return new Set(top.filter(([type], i) => (appended > 0 && i >= appended) || SAMSUNG_VIDEO.has(type)));
}

/**
 * Removes the `video` boxes from `buf`: zero-fills the payload of those with other boxes after them and
 * returns the length to keep (the start of the run of video boxes that ends the file). Throws when one of
 * the image's item extents (`items`, file ranges) overlaps what is removed.
 */
export function removeVideo(buf: Buffer, top: readonly Box[], video: Set<Box>, items: Ranges): number {
  let keep = buf.length;
  for (let i = top.length - 1; i >= 0 && video.has(top[i]); i--) keep = top[i][3];
  const removed: Ranges = [[keep, buf.length]];
  for (const box of video) if (box[3] < keep) removed.push([box[1], box[2]]);
  for (const [a, b] of items)
    if (removed.some(([from, to]) => a < to && b > from && from < to)) throw damaged('HEIC');
  for (const [from, to] of removed.slice(1)) buf.fill(0, from, to);
  return keep;
}
