import { type FormEvent, useEffect, useRef, useState } from 'react';
import type { Shop } from '../App';
import { type ApiError, api } from '../api';
import { ErrorBox } from '../ui/common';
import { ConfirmButton } from './settings/ui';

interface View {
  id: string;
  name: string;
  query: Record<string, string>;
  shared: boolean;
  mine: boolean;
}

/** Saved views: named filter sets, private or shared with the shop. */
export function SavedViews({
  shop,
  query,
  onApply,
}: {
  shop: Shop;
  query: Record<string, string>;
  onApply(q: Record<string, string>): void;
}) {
  const [views, setViews] = useState<View[]>([]);
  const [saving, setSaving] = useState(false);
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const picker = useRef<HTMLSelectElement>(null);
  const deleted = useRef(false);
  /** A save on its way: a second click or Enter is ignored (it would only be told the name is taken). */
  const posting = useRef(false);
  const [busy, setBusy] = useState(false);
  const url = `/v1/shops/${shop.slug}/claim-views`;
  const load = () => api<{ data: View[] }>('GET', url).then((r) => setViews(r.data), setError);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the shop changes
  useEffect(() => {
    void load();
  }, [url]);

  const current = views.find((v) => JSON.stringify(sorted(v.query)) === JSON.stringify(sorted(query)));
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (posting.current) return;
    posting.current = true;
    setBusy(true);
    try {
      const { cursor: _c, ...q } = query;
      await api('POST', url, { name, query: q, shared });
      setSaving(false);
      setName('');
      setError(null);
      await load();
      // The form is gone: the keyboard goes on at the list of views, which now shows the saved one.
      picker.current?.focus();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      posting.current = false;
      setBusy(false);
    }
  };
  const remove = async (v: View) => {
    await api('DELETE', `${url}/${v.id}`);
    deleted.current = true;
    await load();
  };
  // The focused button (in its dialog) is gone with the view: the focus goes to the list of views, once the
  // dialog is closed.
  useEffect(() => {
    if (deleted.current && !current) {
      deleted.current = false;
      picker.current?.focus();
    }
  }, [current]);

  return (
    <div className="saved-views">
      <label>
        <span className="sr-only">Saved view</span>
        <select
          ref={picker}
          aria-label="Saved view"
          value={current?.id ?? ''}
          onChange={(e) => {
            const v = views.find((x) => x.id === e.target.value);
            onApply(v ? v.query : {});
          }}
        >
          <option value="">{current ? 'All claims' : 'Saved views…'}</option>
          {views.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
              {v.shared ? ' (shared)' : ''}
            </option>
          ))}
        </select>
      </label>
      {current?.mine && (
        <ConfirmButton
          className="button small ghost"
          title={`Delete the view “${current.name}”?`}
          message={
            <p>
              {current.shared
                ? 'It is shared: it disappears for everyone in the shop.'
                : 'Only the view is deleted: no claim changes.'}
            </p>
          }
          confirmText="Delete view"
          onConfirm={() => remove(current)}
        >
          Delete view
        </ConfirmButton>
      )}
      {saving ? (
        <form className="row" onSubmit={save}>
          <label>
            <span className="sr-only">View name</span>
            <input
              placeholder="View name"
              value={name}
              required
              maxLength={100}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <label className="check">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Shared
          </label>
          <button className="button small primary" type="submit" disabled={busy}>
            Save
          </button>
          <button
            className="button small ghost"
            type="button"
            onClick={() => {
              setSaving(false);
              setName('');
              setError(null);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" className="button small" onClick={() => setSaving(true)}>
          Save view
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

const sorted = (q: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(q)
      .filter(([k]) => k !== 'cursor')
      .sort(),
  );
