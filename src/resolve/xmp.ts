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
 * packets found in it are read, up to the first byte that cannot occur in UTF-8 XML.
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

const isLocation = (name: string) => LOCATION.test(name.slice(name.lastIndexOf(':') + 1));
/** Bytes that can occur in UTF-8 encoded XML. */
const xmlByte = (c: number) =>
  c < 0x20 ? c === 9 || c === 10 || c === 13 : c !== 0xc0 && c !== 0xc1 && c < 0xf5;

/** Blanks every location property in the XMP of `place`; returns whether anything was blanked. */
export function wipeXmpLocation(buf: Buffer, place: XmpPlace): boolean {
  const text = place.spans.map(([a, b]) => buf.toString('latin1', a, b)).join('');
  let changed = false;
  const blank = (from: number, to: number) => {
    let at = 0;
    for (const [a, b] of place.spans) {
      const lo = Math.max(from, at);
      const hi = Math.min(to, at + b - a);
      if (lo < hi) buf.fill(0x20, a + lo - at, a + hi - at);
      at += b - a;
    }
    changed ||= to > from;
  };
  if (place.whole) blankProperties(text, 0, text.length, blank);
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
      blankProperties(text, m.index, end, blank);
      packet.lastIndex = end;
    }
  }
  return changed;
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
