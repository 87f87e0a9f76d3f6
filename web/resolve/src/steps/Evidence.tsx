import { useRef, useState } from 'react';
import { type EvidenceKind, type Photo, photoErrorText } from '../draft';
import { formatFileSize, type T } from '../i18n';
import { FieldError, focusSoon } from '../ui/common';
import type { StepProps } from './Choices';
import { SignaturePad } from './SignaturePad';

export interface EvidenceHandlers {
  onAdd(kind: EvidenceKind, lineItemId: string | null, file: Blob, name: string): void;
  onRetry(key: string): void;
  onRemove(key: string): void;
}

const ACCEPT = 'image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif';

export function Evidence(props: StepProps & EvidenceHandlers & { errors: Record<string, string> }) {
  const { t, flow, order, draft, errors } = props;
  const steps = flow.steps;
  const titles = new Map(order.line_items.map((l) => [l.id, l.title]));
  const chosen = Object.keys(draft.items);
  // Photos of the request as a whole (no item named: the server takes them so). Offered when no item is chosen
  // ("Something else" about the whole order, or an order with nothing shipped); kept in view while any exist.
  const general = draft.photos.some((p) => p.kind === 'photo' && !p.lineItemId);
  return (
    <div className="evidence">
      <p className="muted">{t('evidence.intro')}</p>
      {steps.photos.max > 0 && (chosen.length === 0 || general) && (
        <PhotoGroup
          {...props}
          kind="photo"
          lineItemId={null}
          title={t('evidence.claim_photos')}
          hint={t('evidence.item_photos_optional', { max: steps.photos.max })}
          max={steps.photos.max}
          error={errors['photo:claim']}
        />
      )}
      {steps.photos.max > 0 &&
        chosen.map((id) => (
          <PhotoGroup
            key={id}
            {...props}
            kind="photo"
            lineItemId={id}
            title={t('evidence.item_photos', { title: titles.get(id) ?? '' })}
            hint={
              steps.photos.min > 0
                ? t('evidence.item_photos_rule', { min: steps.photos.min, max: steps.photos.max })
                : t('evidence.item_photos_optional', { max: steps.photos.max })
            }
            max={steps.photos.max}
            error={errors[`photo:${id}`]}
          />
        ))}
      {steps.package_photo !== 'off' && (
        <PhotoGroup
          {...props}
          kind="package_photo"
          lineItemId={null}
          title={`${t('evidence.package_photo')} (${t(steps.package_photo === 'required' ? 'evidence.required' : 'evidence.optional')})`}
          hint={t('evidence.package_photo_hint')}
          max={1}
          error={errors.package_photo}
        />
      )}
      {steps.signature !== 'off' && (
        <SignaturePad
          t={t}
          required={steps.signature === 'required'}
          photo={draft.photos.find((p) => p.kind === 'signature') ?? null}
          onSave={(blob) => props.onAdd('signature', null, blob, 'signature.png')}
          onClear={(key) => props.onRemove(key)}
          error={errors.signature}
        />
      )}
      <FieldError id="evidence-error" text={errors.general} />
    </div>
  );
}

function PhotoGroup({
  t,
  draft,
  kind,
  lineItemId,
  title,
  hint,
  max,
  error,
  onAdd,
  onRetry,
  onRemove,
}: StepProps &
  EvidenceHandlers & {
    kind: EvidenceKind;
    lineItemId: string | null;
    title: string;
    hint: string;
    max: number;
    error?: string;
  }) {
  const input = useRef<HTMLInputElement>(null);
  const group = useRef<HTMLFieldSetElement>(null);
  /** Photos of the last pick that did not fit (the group's places were taken): said, not dropped silently. */
  const [dropped, setDropped] = useState(0);
  const photos = draft.photos.filter((p) => p.kind === kind && p.lineItemId === lineItemId);
  // A refused file stays listed with its reason, but does not take one of the places.
  const taken = photos.filter((p) => p.status !== 'error').length;
  const place = lineItemId ?? (kind === 'photo' ? 'claim' : 'package');
  const groupId = `photos-${kind}-${place}`;
  const addId = `${groupId}-add`;
  const removeButtons = () => group.current?.querySelectorAll<HTMLElement>('[data-remove]') ?? [];
  // The removed tile's button is gone: the focus goes to the next photo's, or to "Add a photo", or the one before.
  const remove = (key: string) => {
    const i = photos.findIndex((p) => p.key === key);
    setDropped(0);
    onRemove(key);
    focusSoon(
      () => removeButtons()[i],
      addId,
      () => removeButtons()[i - 1],
    );
  };
  // "Try again" gives way to the progress bar: the focus stays on the tile (its Remove button).
  const retry = (key: string) => {
    onRetry(key);
    focusSoon(() => group.current?.querySelector(`[data-remove="${key}"]`));
  };
  return (
    <fieldset
      ref={group}
      className="fieldset photo-group"
      aria-describedby={`${groupId}-hint ${groupId}-error`}
    >
      <legend className="label">{title}</legend>
      <p id={`${groupId}-hint`} className="hint">
        {hint}
      </p>
      {/* Said when a photo is added and when it is uploaded or refused; not every step of its progress. */}
      <ul className="photos" aria-live="polite">
        {photos.map((p) => (
          <PhotoTile key={p.key} t={t} photo={p} full={taken >= max} onRetry={retry} onRemove={remove} />
        ))}
      </ul>
      <div role="status" className={dropped ? 'hint' : undefined} data-testid={`dropped-${kind}-${place}`}>
        {dropped > 0 && t('evidence.not_added', { max, count: dropped })}
      </div>
      {taken < max && (
        <>
          <input
            ref={input}
            id={groupId}
            type="file"
            accept={ACCEPT}
            // Several photos in one pick (a phone's gallery), cut to the places left.
            multiple={max - taken > 1}
            className="sr-only"
            tabIndex={-1}
            aria-hidden="true"
            data-testid={`file-${kind}-${place}`}
            onChange={(e) => {
              const files = Array.from(e.target.files ?? []);
              for (const f of files.slice(0, max - taken)) onAdd(kind, lineItemId, f, f.name);
              setDropped(Math.max(0, files.length - (max - taken)));
              e.target.value = '';
            }}
          />
          <button type="button" className="button" id={addId} onClick={() => input.current?.click()}>
            + {t('evidence.add_photo')}
          </button>
        </>
      )}
      <FieldError id={`${groupId}-error`} text={error} />
    </fieldset>
  );
}

function PhotoTile({
  t,
  photo,
  full,
  onRetry,
  onRemove,
}: {
  t: T;
  photo: Photo;
  /** Every place is taken by other photos: this one can only be removed. */
  full: boolean;
  onRetry(key: string): void;
  onRemove(key: string): void;
}) {
  // Chromium and Firefox cannot decode HEIC (an iPhone's photos): a file tile instead of a broken image.
  const [noPreview, setNoPreview] = useState(false);
  return (
    <li className={`photo photo-${photo.status}`} data-testid="photo">
      {noPreview ? (
        <span className="photo-file" aria-hidden="true">
          <svg viewBox="0 0 24 24" width="32" height="32" focusable="false" aria-hidden="true">
            <path d="M6 2h8l5 5v15H6z M14 2v5h5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          </svg>
        </span>
      ) : (
        <img src={photo.preview} alt={photo.name} onError={() => setNoPreview(true)} />
      )}
      <div className="photo-meta">
        {/* A refused file is named too: the customer knows which one to look at. */}
        {!noPreview && photo.status === 'error' && <span className="photo-name">{photo.name}</span>}
        {noPreview && (
          <>
            <span className="photo-name">{photo.name}</span>
            <span className="small muted">
              {formatFileSize(photo.file.size)} · {t('evidence.no_preview')}
            </span>
          </>
        )}
        {photo.status === 'uploading' && (
          <>
            <progress max={1} value={photo.progress} aria-label={photo.name} />
            <span className="small" aria-hidden="true">
              {t('evidence.uploading', { percent: Math.round(photo.progress * 100) })}
            </span>
            <span className="sr-only">{t('evidence.uploading_name', { name: photo.name })}</span>
          </>
        )}
        {photo.status === 'done' && <span className="small ok">✓ {t('evidence.uploaded')}</span>}
        {photo.status === 'error' && (
          <>
            <span className="small field-error" role="alert">
              {photoErrorText(t, photo.error)}
            </span>
            {photo.retryable !== false && !full && (
              <button
                type="button"
                className="button small"
                aria-label={`${t('evidence.retry')}: ${photo.name}`}
                onClick={() => onRetry(photo.key)}
              >
                {t('evidence.retry')}
              </button>
            )}
          </>
        )}
        <button
          type="button"
          className="button small ghost"
          data-remove={photo.key}
          aria-label={`${t('evidence.remove')}: ${photo.name}`}
          onClick={() => onRemove(photo.key)}
        >
          {t('evidence.remove')}
        </button>
      </div>
    </li>
  );
}
