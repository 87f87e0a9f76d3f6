import { useEffect, useRef, useState } from 'react';
import { type Photo, photoErrorText } from '../draft';
import type { T } from '../i18n';
import { FieldError, focusSoon } from '../ui/common';

/** A drawn signature (pointer: finger, pen or mouse), or a typed name for keyboard users. */
export function SignaturePad({
  t,
  required,
  photo,
  onSave,
  onClear,
  error,
}: {
  t: T;
  required: boolean;
  photo: Photo | null;
  onSave(blob: Blob): void;
  onClear(key: string): void;
  error?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const [drawn, setDrawn] = useState(false);
  const [typed, setTyped] = useState<string | null>(null);

  const ctx = () => canvas.current?.getContext('2d') ?? null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the canvas is new whenever these change
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const ratio = window.devicePixelRatio || 1;
    c.width = c.clientWidth * ratio;
    c.height = c.clientHeight * ratio;
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(ratio, ratio);
    g.lineWidth = 2.5;
    g.lineCap = 'round';
    g.strokeStyle = '#111';
  }, [photo, typed]);

  const point = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top] as const;
  };

  const clear = () => {
    const c = canvas.current;
    ctx()?.clearRect(0, 0, c?.width ?? 0, c?.height ?? 0);
    setDrawn(false);
  };

  const save = () => {
    let c = canvas.current;
    if (typed !== null) {
      c = document.createElement('canvas');
      c.width = 600;
      c.height = 160;
      const g = c.getContext('2d');
      if (!g) return;
      g.fillStyle = '#fff';
      g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = '#111';
      g.font = 'italic 48px "Brush Script MT", "Segoe Script", cursive';
      g.fillText(typed.trim(), 24, 100);
    }
    c?.toBlob((b) => {
      if (!b) return;
      onSave(b);
      // The pad gives way to the saved signature: the focus goes to its status (saved, or why not).
      focusSoon('signature-status');
    }, 'image/png');
  };

  return (
    <fieldset className="fieldset signature" aria-describedby="signature-hint signature-error">
      <legend className="label">
        {t('signature.title')} ({t(required ? 'evidence.required' : 'evidence.optional')})
      </legend>
      {photo ? (
        <div className="signature-saved">
          <img src={photo.preview} alt={t('signature.title')} />
          <p className="small ok" role="status" id="signature-status" tabIndex={-1}>
            {photo.status === 'done'
              ? `✓ ${t('signature.saved')}`
              : photo.status === 'error'
                ? photoErrorText(t, photo.error)
                : '…'}
          </p>
          <button
            type="button"
            className="button small"
            onClick={() => {
              onClear(photo.key);
              focusSoon('signature-typed', 'signature-type-instead');
            }}
          >
            {t('signature.clear')}
          </button>
        </div>
      ) : typed === null ? (
        <>
          <p id="signature-hint" className="hint">
            {t('signature.hint')}
          </p>
          <canvas
            ref={canvas}
            className="signature-canvas"
            role="img"
            aria-label={t('signature.canvas')}
            onPointerDown={(e) => {
              drawing.current = true;
              e.currentTarget.setPointerCapture(e.pointerId);
              const g = ctx();
              const [x, y] = point(e);
              g?.beginPath();
              g?.moveTo(x, y);
            }}
            onPointerMove={(e) => {
              if (!drawing.current) return;
              const g = ctx();
              const [x, y] = point(e);
              g?.lineTo(x, y);
              g?.stroke();
              setDrawn(true);
            }}
            onPointerUp={() => {
              drawing.current = false;
            }}
          />
          <div className="row">
            <button
              type="button"
              className="button small"
              // Not disabled: cleared, it keeps the focus.
              onClick={() => drawn && clear()}
              aria-disabled={!drawn || undefined}
            >
              {t('signature.clear')}
            </button>
            <button
              type="button"
              className="button small"
              id="signature-type-instead"
              onClick={() => {
                setTyped('');
                focusSoon('signature-typed');
              }}
            >
              {t('signature.type_instead')}
            </button>
            <button type="button" className="button small primary" onClick={save} disabled={!drawn}>
              {t('signature.save')}
            </button>
          </div>
        </>
      ) : (
        <>
          <label htmlFor="signature-typed">{t('signature.typed_label')}</label>
          <input
            id="signature-typed"
            value={typed}
            autoComplete="name"
            onChange={(e) => setTyped(e.target.value)}
          />
          <div className="row">
            <button
              type="button"
              className="button small"
              onClick={() => {
                setTyped(null);
                focusSoon('signature-type-instead');
              }}
            >
              {t('signature.draw_instead')}
            </button>
            <button
              type="button"
              className="button small primary"
              onClick={save}
              disabled={typed.trim().length < 2}
            >
              {t('signature.save')}
            </button>
          </div>
        </>
      )}
      <FieldError id="signature-error" text={error} />
    </fieldset>
  );
}
