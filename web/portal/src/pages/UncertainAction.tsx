import { useId, useState } from 'react';
import { ApiError, api } from '../api';
import { ErrorBox } from '../ui/common';
import { ConfirmButton } from './settings/ui';

/**
 * The two ways out of a refund or replacement whose outcome is unknown (the shop never answered for sure, so it
 * may have carried it out; its units stay reserved): retry the same action — the shop recognises it and does
 * not pay twice — or, after checking the shop's admin, mark it as not done with a note (frees the units).
 */
export function UncertainAction({
  url,
  kind,
  onChanged,
}: {
  /** …/claims/{id}/actions/{action_id} */
  url: string;
  kind: string;
  onChanged(): Promise<unknown>;
}) {
  const [note, setNote] = useState('');
  const noteId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      await api('POST', `${url}/retry`);
      await onChanged();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="block" data-testid="uncertain-action">
      <span className="block small">
        The shop did not confirm this {kind}: it may have been carried out. Retry it (the shop recognises it
        and does not do it twice), or check the shop’s admin and mark it as not done.
      </span>
      <div className="row">
        <button type="button" className="button small" disabled={busy} onClick={retry}>
          Retry
        </button>
        <ConfirmButton
          className="button small"
          title={`Mark the ${kind} as not done`}
          confirmText="Mark as not done"
          message={
            <div className="field">
              <p>Only if the shop’s admin shows no such {kind}: its units become free for a new request.</p>
              <label htmlFor={noteId}>What did you check? (kept in the claim’s history)</label>
              <textarea
                id={noteId}
                rows={2}
                maxLength={1000}
                value={note}
                onChange={(e) => setNote(e.target.value)}
              />
            </div>
          }
          onConfirm={async () => {
            if (!note.trim()) throw new ApiError('note_required', 'Say what you checked in the shop.', 0);
            await api('POST', `${url}/release`, { note: note.trim() });
            setNote('');
            await onChanged();
          }}
        >
          Mark as not done…
        </ConfirmButton>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}
