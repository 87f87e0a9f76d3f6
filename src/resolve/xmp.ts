/**
 * Location removal from XMP (SPEC §5). XMP is RDF/XML text, so a location can be written many ways: any
 * prefix bound to any namespace (or the default one), attribute or element form, either quote, a struct or
 * array value, comments and CDATA in between. So properties are recognised by their local name alone, and
 * their values are overwritten with spaces: the length stays the same (no offset in the container moves) and
 * the markup stays (the packet is still well-formed XMP, the other properties still readable).
 */

/** Byte ranges [start, end). */
export type Ranges = [number, number][];

/**
 * A metadata payload that may hold XMP: byte ranges that, concatenated, make its text. `whole`: the payload
 * is metadata only and is read whole; otherwise (HEIC, where metadata and pixels share `mdat`) only XMP
 * packets found in it are read, up to the first byte (UTF-8) or code unit (UTF-16/32) that cannot occur in XML.
 */
export interface XmpPlace {
  spans: Ranges;
  whole: boolean;
}

/**
 * Local names (case matters, as in XML: "City" is a property, "Opacity" is not) that place the photo: any
 * GPS/Gps (exif:, exifEX:, drone-dji:GpsLatitude…), anything naming a latitude, longitude, altitude, location,
 * city or country (Iptc4xmpCore:Location, Iptc4xmpExt:LocationShown/LocationCreated and their fields,
 * xmpDM:shotLocation, photoshop:City/Country), photoshop:State, Iptc4xmpExt:ProvinceState/WorldRegion, the
 * creator's address (Iptc4xmpCore:CiAdr*) and W3C geo:lat/long/alt. exif:SubjectLocation is a point in the
 * picture, not on Earth.
 */
const LOCATION =
  /^(?!SubjectLocation$).*(GPS|Gps|gps|Location|Sublocation|City|Country|Latitude|Longitude|Altitude)|^(State|ProvinceState|WorldRegion|CiAdr\w*|lat|lon|long|alt|location|city|country)$/;
/** Attributes that are syntax, not a value: kept on a location element so the RDF still parses. */
const SYNTAX = /^(xmlns(:.*)?|([^:]*:)?(parseType|datatype|lang|ID|nodeID|about))$/;
/** A tag at a "<": 1 "/", 2 name, 3 attributes, 4 "/". Stops at the next "<", so a scan stays linear. */
const TAG = /<(\/?)([^\s<>/"'=!?]+)(?=[\s/>])((?:"[^"<]*"|'[^'<]*'|[^<>"'])*?)(\/?)>/y;
const ATTR = /(?<=\s)([^\s<>"'=/]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g;
/** Where an XMP packet starts, in a payload not read whole; 1 = the root element's name. */
const PACKET = /<\?xpacket\s+begin|<((?:[^\s<>/:"']+:)?(?:xmpmeta|xapmeta|RDF))[\s>]/g;

/** Whether a property (prefix:LocalName, or a bare name) places the photo. */
export const isLocation = (name: string) => LOCATION.test(name.slice(name.lastIndexOf(':') + 1));
/** Bytes that can occur in UTF-8 encoded XML. */
const xmlByte = (c: number) =>
  c < 0x20 ? c === 9 || c === 10 || c === 13 : c !== 0xc0 && c !== 0xc1 && c < 0xf5;

/** Blanks every location property in the XMP of `place`, in any encoding; returns whether anything was blanked. */
export function wipeXmpLocation(buf: Buffer, place: XmpPlace): boolean {
  const { spans, whole } = place;
  const bytes =
    spans.length === 1
      ? buf.subarray(spans[0][0], spans[0][1])
      : Buffer.concat(spans.map(([a, b]) => buf.subarray(a, b)));
  let changed = false;
  /** Overwrites bytes [from, to) of the payload with `space` (one space character, encoded) repeated. */
  const fill = (from: number, to: number, space: Buffer) => {
    let at = 0;
    for (const [a, b] of spans) {
      for (let v = Math.max(from, at); v < Math.min(to, at + b - a); v++)
        buf[a + v - at] = space[(v - from) % space.length];
      at += b - a;
    }
    changed ||= to > from;
  };
  // UTF-8 (most XMP), read as Latin-1 so that characters and bytes line up.
  const text = bytes.toString('latin1');
  const blank8 = (from: number, to: number) => fill(from, to, SPACE8);
  if (whole) blankProperties(text, 0, text.length, blank8);
  else {
    const packet = new RegExp(PACKET.source, 'g');
    let bound = 0; // the first byte at or after the packet that cannot be XML
    for (let m = packet.exec(text); m; m = packet.exec(text)) {
      for (bound = Math.max(bound, m.index); bound < text.length && xmlByte(text.charCodeAt(bound)); )
        bound++;
      const region = text.slice(m.index, bound);
      const close = region.indexOf(m[1] ? `</${m[1]}` : '<?xpacket end');
      const gt = close < 0 ? -1 : region.indexOf('>', close);
      const end = m.index + (gt < 0 ? region.length : gt + 1);
      blankProperties(text, m.index, end, blank8);
      packet.lastIndex = end;
    }
  }
  // UTF-16 and UTF-32, which XMP allows too (the BOM in <?xpacket begin="…"?> says which, and readers decode
  // it): every packet found by its encoded "<?xpacket", and a payload read whole that starts in one of them
  // (a BOM, or zero bytes around its first character, as the XMP Toolkit decides). Characters are fixed-size
  // code units here, so the same blanking works on the decoded text, a unit for a character.
  for (const enc of WIDE) {
    const w = enc.width;
    const blankAt = (base: number) => (from: number, to: number) =>
      fill(base + from * w, base + to * w, enc.space);
    if (whole && wideEncoding(bytes) === enc) {
      const decoded = decode(bytes, 0, bytes.length - (bytes.length % w), enc);
      blankProperties(decoded, 0, decoded.length, blankAt(0));
    }
    for (let at = bytes.indexOf(enc.packet); at >= 0; ) {
      let stop = at;
      while (stop + w <= bytes.length && xmlChar(unit(bytes, stop, enc))) stop += w;
      const region = decode(bytes, at, stop, enc);
      const close = region.indexOf('<?xpacket end');
      const gt = close < 0 ? -1 : region.indexOf('>', close);
      const begins = /^<\?xpacket\s+begin/.test(region);
      const end = gt < 0 ? region.length : gt + 1;
      if (begins) blankProperties(region, 0, end, blankAt(at));
      at = bytes.indexOf(enc.packet, at + (begins ? end : 1) * w);
    }
  }
  return changed;
}

const SPACE8 = Buffer.from(' ');

/** A fixed-width encoding of XML text: code unit size, byte order, " " and "<?xpacket" in it. */
interface Wide {
  width: 2 | 4;
  le: boolean;
  space: Buffer;
  packet: Buffer;
}

/** ASCII text in a fixed-width encoding. */
const encodeAscii = (text: string, width: number, le: boolean) => {
  const out = Buffer.alloc(text.length * width);
  for (let i = 0; i < text.length; i++) out[i * width + (le ? 0 : width - 1)] = text.charCodeAt(i);
  return out;
};

const WIDE: Wide[] = ([2, 4] as const).flatMap((width) =>
  [false, true].map((le) => ({
    width,
    le,
    space: encodeAscii(' ', width, le),
    packet: encodeAscii('<?xpacket', width, le),
  })),
);
const [UTF16BE, UTF16LE, UTF32BE, UTF32LE] = WIDE;

/** The code unit at byte `at`. */
const unit = (b: Buffer, at: number, { width, le }: Wide) =>
  width === 2 ? (le ? b.readUInt16LE(at) : b.readUInt16BE(at)) : le ? b.readUInt32LE(at) : b.readUInt32BE(at);

/** Code units that can occur in XML (in UTF-16, either half of a surrogate pair). */
const xmlChar = (c: number) =>
  c < 0x20 ? c === 9 || c === 10 || c === 13 : c <= 0x10ffff && c !== 0xfffe && c !== 0xffff;

/** Bytes [from, to) as text, one character per code unit (a UTF-32 unit beyond U+FFFF as U+FFFD). */
function decode(b: Buffer, from: number, to: number, enc: Wide): string {
  const codes: number[] = [];
  let out = '';
  for (let at = from; at + enc.width <= to; at += enc.width) {
    const c = unit(b, at, enc);
    codes.push(c > 0xffff ? 0xfffd : c);
    if (codes.length === 8192) out += String.fromCharCode(...codes.splice(0));
  }
  return out + String.fromCharCode(...codes);
}

/** The encoding of XML text from its first bytes, as the XMP Toolkit decides it; undefined for UTF-8. */
function wideEncoding(b: Buffer): Wide | undefined {
  if (b.length < 4) return undefined;
  const [b0, b1, b2, b3] = b;
  if (b0 === 0xfe && b1 === 0xff) return UTF16BE;
  if (b0 === 0xff && b1 === 0xfe) return b2 === 0 && b3 === 0 ? UTF32LE : UTF16LE;
  if (b0 === 0) {
    if (b1 !== 0) return UTF16BE;
    if (b2 === 0 ? b3 !== 0 : b2 === 0xfe && b3 === 0xff) return UTF32BE;
    return undefined;
  }
  if (b0 < 0x80 && b1 === 0) return b2 === 0 && b3 === 0 ? UTF32LE : UTF16LE;
  return undefined;
}

interface Tag {
  at: number;
  end: number;
  close: boolean;
  name: string;
  attrs: string;
  empty: boolean;
}

/** The tags of text[from, …), skipping comments, CDATA, PIs and DOCTYPE; an unterminated one ends the markup. */
function tags(text: string, from: number): Tag[] {
  const out: Tag[] = [];
  const tag = new RegExp(TAG.source, 'y');
  const skip = (end: string, at: number) => {
    const e = text.indexOf(end, at);
    return e < 0 ? -1 : e + end.length;
  };
  for (let i = text.indexOf('<', from); i >= 0; ) {
    let next: number;
    if (text.startsWith('<!--', i)) next = skip('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) next = skip(']]>', i + 9);
    else if (text[i + 1] === '?' || text[i + 1] === '!') next = skip('>', i + 2);
    else {
      tag.lastIndex = i;
      const m = tag.exec(text);
      next = m ? tag.lastIndex : i + 1;
      if (m) out.push({ at: i, end: next, close: !!m[1], name: m[2], attrs: m[3], empty: !!m[4] });
    }
    if (next < 0) break;
    i = text.indexOf('<', next);
  }
  return out;
}

/** Blanks location properties in text[from, to): attribute values, and element contents up to their end tag. */
function blankProperties(all: string, from: number, to: number, blank: (a: number, b: number) => void) {
  const list = tags(all.slice(0, to), from);
  for (let i = 0; i < list.length; i++) {
    const { at, end, close, name, attrs, empty } = list[i];
    if (close) continue;
    const located = isLocation(name);
    // In a location element every value goes (syntax stays); elsewhere, the location attributes.
    for (const a of attrs.matchAll(ATTR)) {
      if (located ? SYNTAX.test(a[1]) : a[1].startsWith('xmlns') || !isLocation(a[1])) continue;
      const stop = at + 1 + name.length + (a.index ?? 0) + a[0].length - 1;
      blank(stop - (a[2] ?? a[3]).length, stop);
    }
    if (!located || empty) continue;
    let depth = 1;
    let j = i + 1;
    for (; j < list.length; j++) {
      const t = list[j];
      if (t.name !== name || t.empty) continue;
      if (!t.close) depth++;
      else if (--depth === 0) break;
    }
    // No end tag: the packet is damaged, and everything after the start tag may be the value.
    blank(end, j < list.length ? list[j].at : to);
    i = j;
  }
}

const XMP = 'http://ns.adobe.com/xap/1.0/\0';
const EXTENDED = 'http://ns.adobe.com/xmp/extension/\0';

/**
 * JPEG: every APPn/COM payload ([marker, start, end]) is read whole. The standard XMP packet without its
 * header; extended XMP (one serialization cut into APP1 chunks: GUID, full length, offset, data) is put
 * back together per GUID in offset order, since a property can straddle two chunks.
 */
export function jpegXmpPlaces(buf: Buffer, segments: [number, number, number][]): XmpPlace[] {
  const places: XmpPlace[] = [];
  const extended = new Map<string, [number, number, number][]>();
  for (const [marker, start, end] of segments) {
    const head = marker === 0xe1 ? buf.toString('latin1', start, start + EXTENDED.length) : '';
    if (head.startsWith(XMP)) places.push({ spans: [[start + XMP.length, end]], whole: true });
    else if (head === EXTENDED && start + 75 <= end) {
      const guid = buf.toString('latin1', start + 35, start + 67);
      const chunks = extended.get(guid) ?? [];
      extended.set(guid, [...chunks, [buf.readUInt32BE(start + 71), start + 75, end]]);
    } else places.push({ spans: [[start, end]], whole: true });
  }
  for (const chunks of extended.values()) {
    const spans = chunks.sort((a, b) => a[0] - b[0]).map(([, s, e]): [number, number] => [s, e]);
    places.push({ spans, whole: true });
  }
  return places;
}
