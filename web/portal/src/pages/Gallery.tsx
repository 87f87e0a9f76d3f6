import { useEffect, useRef, useState } from 'react';
import type { Claim } from '../api';
import { label } from '../ui/format';

/**
 * A signed file URL (built on PUBLIC_URL for API readers) as a path on the portal's own origin, where the same
 * server answers it. PUBLIC_URL may name another host than the one the portal was opened at (a LAN address, a
 * second proxy name, http://localhost), and the page's CSP admits images from itself and https only.
 */
export function ownOrigin(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname.startsWith('/v1/files/') ? `${u.pathname}${u.search}` : url;
  } catch {
    return url;
  }
}

/** Evidence thumbnails (short-lived signed URLs) and a zoomable viewer in a modal dialog. */
export function Gallery({
  evidence,
  itemTitle,
}: {
  evidence: Claim['evidence'];
  itemTitle(id: string | null): string | undefined;
}) {
  const [open, setOpen] = useState<number | null>(null);
  const [zoom, setZoom] = useState(1);
  // Photos this browser cannot decode (HEIC outside Safari): a tile that says so instead of a broken image.
  const [undecodable, setUndecodable] = useState<ReadonlySet<string>>(new Set());
  const cannotShow = (id: string) => () => setUndecodable((s) => new Set(s).add(id));
  const kindOf = (type: string) => type.replace(/^image\//, '').toUpperCase();
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (open === null) dialog.current?.close();
    else if (!dialog.current?.open) dialog.current?.showModal();
  }, [open]);
  const e = open === null ? null : evidence[open];
  return (
    <>
      <ul className="gallery">
        {evidence.map((ev, i) => {
          // The caption names a type this browser cannot show, so the tile needs no text of its own.
          const caption = `${label(ev.kind)}${undecodable.has(ev.id) ? ` (${kindOf(ev.content_type)})` : ''}`;
          const item = itemTitle(ev.line_item_id);
          return (
            <li key={ev.id}>
              <button
                type="button"
                className="gallery-thumb"
                onClick={() => {
                  setZoom(1);
                  setOpen(i);
                }}
                aria-label={`Open ${caption}${item ? ` of ${item}` : ''}`}
              >
                {undecodable.has(ev.id) ? (
                  <span className="gallery-nopreview" data-testid="no-preview" aria-hidden="true" />
                ) : (
                  <img src={ownOrigin(ev.url)} alt="" loading="lazy" onError={cannotShow(ev.id)} />
                )}
                <span className="small">{caption}</span>
              </button>
            </li>
          );
        })}
      </ul>
      <dialog ref={dialog} className="viewer" onClose={() => setOpen(null)} aria-label="Evidence">
        {e && (
          <>
            <div className="row">
              <strong>
                {label(e.kind)}
                {itemTitle(e.line_item_id) ? ` · ${itemTitle(e.line_item_id)}` : ''}
              </strong>
              <span className="muted small">
                {e.content_type} · {(e.size / 1024).toFixed(0)} kB
              </span>
              <button
                type="button"
                className="button small"
                onClick={() => setZoom((z) => Math.min(z * 1.5, 6))}
              >
                Zoom in
              </button>
              <button
                type="button"
                className="button small"
                onClick={() => setZoom((z) => Math.max(z / 1.5, 1))}
              >
                Zoom out
              </button>
              <button
                type="button"
                className="button small"
                disabled={open === 0}
                onClick={() => setOpen((i) => (i ?? 1) - 1)}
              >
                Previous
              </button>
              <button
                type="button"
                className="button small"
                disabled={open === evidence.length - 1}
                onClick={() => setOpen((i) => (i ?? 0) + 1)}
              >
                Next
              </button>
              <a className="button small" href={ownOrigin(e.url)} target="_blank" rel="noreferrer">
                Original
              </a>
              <button type="button" className="button small" onClick={() => setOpen(null)}>
                Close
              </button>
            </div>
            <div className="viewer-frame">
              {undecodable.has(e.id) ? (
                <p className="muted" data-testid="evidence-nopreview">
                  This browser cannot show {kindOf(e.content_type)} photos. Open the original to download it;
                  Safari and the Photos apps of macOS, iOS and Windows show it.
                </p>
              ) : (
                <img
                  src={ownOrigin(e.url)}
                  alt={label(e.kind)}
                  style={{ transform: `scale(${zoom})` }}
                  data-testid="evidence-full"
                  onError={cannotShow(e.id)}
                />
              )}
            </div>
          </>
        )}
      </dialog>
    </>
  );
}
