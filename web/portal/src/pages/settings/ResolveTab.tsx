import { useEffect, useState } from 'react';
import { FlowEditor } from './FlowEditor';
import { Editable, NumberField, RadioField, TextField, useDoc } from './fields';
import { errorsUnder, FLOWS, type Flow, RETURNS_URL_PLACEHOLDERS as PLACEHOLDERS } from './model';

const SAMPLE: Record<string, string> = {
  orderNumber: '1001',
  orderName: '#1001',
  email: 'kim@example.com',
  zipCode: '10115',
  externalId: '5123',
  claimReason: 'too_small',
  selectedItemSkus: 'TEE-M',
  flowType: 'return',
};

/** Windows, gating display, returns hand-off, limits, and each flow with its reasons and questions. */
export function ResolveTab() {
  const { draft, set, errors } = useDoc();
  const [open, setOpen] = useState<Set<Flow>>(new Set());
  // A flow with a server error unfolds, so the message next to its field can be seen.
  useEffect(() => {
    const bad = FLOWS.filter((f) => errorsUnder(errors, `/flows/${f}`).length);
    if (bad.length) setOpen((o) => new Set([...o, ...bad]));
  }, [errors]);
  const template = draft.returns.external_url_template ?? '';
  const example = template.replace(/\{(\w+)\}/g, (m, k: string) =>
    k in SAMPLE ? encodeURIComponent(SAMPLE[k]) : m,
  );
  return (
    <div className="settings-stack">
      <section className="card" aria-labelledby="windows-title">
        <h2 id="windows-title">Windows and gating</h2>
        <Editable>
          <div className="field-grid">
            <NumberField
              path={['claim_window_days']}
              label="Claim window"
              min={1}
              max={3650}
              suffix="days after delivery"
              hint="Defective, missing, wrong and disappointing items, and delivered-not-received."
            />
            <NumberField
              path={['return_window_days']}
              label="Return window"
              min={1}
              max={3650}
              suffix="days after delivery"
            />
            <NumberField
              path={['stuck_after_days']}
              label="Parcel counts as stuck after"
              min={1}
              max={365}
              suffix="days without a carrier event"
            />
          </div>
          <RadioField
            path={['unavailable_flows']}
            legend="Unavailable flows"
            options={[
              [
                'explain',
                'Show them with the reason',
                'e.g. “outside the return window”, so customers know why.',
              ],
              ['hide', 'Hide them', 'Customers only see what they can do.'],
            ]}
          />
        </Editable>
      </section>

      <section className="card" aria-labelledby="returns-title">
        <h2 id="returns-title">Returns</h2>
        <Editable>
          <RadioField
            path={['returns', 'mode']}
            legend="Where returns are handled"
            options={[
              ['native', 'In Resolve', 'The return is a claim like any other.'],
              [
                'external',
                'In an external returns portal',
                'The return claim is recorded, then the customer continues to your portal.',
              ],
            ]}
          />
          {draft.returns.mode === 'external' && (
            <TextField
              path={['returns', 'external_url_template']}
              label="Returns portal URL template"
              type="url"
              nullable
              maxLength={2048}
              placeholder="https://returns.example.com/start?order={orderNumber}&zip={zipCode}"
              hint={
                <>
                  https only. Placeholders:{' '}
                  {PLACEHOLDERS.map((p, i) => (
                    <span key={p}>
                      {i > 0 && ', '}
                      <code>{`{${p}}`}</code>
                    </span>
                  ))}
                  .{example && example !== template && <span className="block">Example: {example}</span>}
                </>
              }
            />
          )}
        </Editable>
      </section>

      <section aria-labelledby="flows-title">
        <div className="page-head">
          <h2 id="flows-title">Flows</h2>
          <div className="row">
            <button type="button" className="button small" onClick={() => setOpen(new Set(FLOWS))}>
              Expand all
            </button>
            <button type="button" className="button small" onClick={() => setOpen(new Set())}>
              Collapse all
            </button>
          </div>
        </div>
        {FLOWS.map((f) => (
          <FlowEditor
            key={f}
            flow={f}
            open={open.has(f)}
            onToggle={(o) =>
              setOpen((s) => {
                if (o === s.has(f)) return s;
                const n = new Set(s);
                if (o) n.add(f);
                else n.delete(f);
                return n;
              })
            }
          />
        ))}
      </section>

      <section className="card" aria-labelledby="advanced-title">
        <h2 id="advanced-title">Limits and embedding</h2>
        <Editable>
          <div className="field-grid">
            <NumberField
              path={['upload_max_bytes']}
              label="Largest photo upload"
              min={0.1}
              max={25}
              step={0.1}
              scale={1_048_576}
              suffix="MB"
            />
            <NumberField
              path={['token_ttl_days']}
              label="Resolve links stay valid for"
              min={1}
              max={365}
              suffix="days"
            />
          </div>
          <OriginsField set={set} origins={draft.allowed_origins} />
        </Editable>
      </section>
    </div>
  );
}

function OriginsField({ origins, set }: { origins: string[]; set(path: string[], v: unknown): void }) {
  const { errors } = useDoc();
  const [text, setText] = useState(origins.join('\n'));
  // Follow outside changes (save, discard) without fighting the user's typing.
  useEffect(() => {
    setText((t) => (splitLines(t).join('\n') === origins.join('\n') ? t : origins.join('\n')));
  }, [origins]);
  const problems = errorsUnder(errors, '/allowed_origins');
  return (
    <div className="sfield">
      <label htmlFor="f-allowed_origins">Sites that may embed the customer page or call its API</label>
      <textarea
        id="f-allowed_origins"
        rows={3}
        value={text}
        spellCheck={false}
        aria-describedby="f-allowed_origins-hint"
        aria-invalid={problems.length > 0 || undefined}
        onChange={(e) => {
          setText(e.target.value);
          set(['allowed_origins'], splitLines(e.target.value));
        }}
      />
      <span className="hint" id="f-allowed_origins-hint">
        One origin per line, such as https://shop.example.com; <code>*</code> allows any site.
      </span>
      {problems.map((p) => (
        <span key={p} className="field-error" role="alert">
          Line {Number(p.split('/')[2] ?? 0) + 1}: {errors[p]}
        </span>
      ))}
    </div>
  );
}

const splitLines = (t: string) =>
  t
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
