import { useEffect, useState } from 'react';
import type { Static } from 'typebox';
import type { ClaimFacets } from '../../../../src/claims/facet-routes';
import type { FlowSettings, ResolveSettings } from '../../../../src/resolve/settings';
import { ApiError, api } from '../api';
import { carrierName, countryName, date, label } from '../ui/format';

type Facets = Static<typeof ClaimFacets>;
interface Assignee {
  email: string;
  name: string | null;
  role: string;
}

export interface Choice {
  value: string;
  label: string;
  /** Other values meaning the same (a reason's `flow:code` where the bare code is unambiguous). */
  same?: string[];
}
/** Options of a select, in groups (`label: ''`: no group around them). */
export interface ChoiceGroup {
  label: string;
  choices: Choice[];
}

/** The list's filters whose values the shop defines: chosen from what it has, sent as codes. */
export const CHOICE_FILTERS = [
  ['reason', 'Reason'],
  ['carrier', 'Carrier'],
  ['country', 'Country'],
  ['tag', 'Tag'],
  ['assignee', 'Assignee'],
] as const;
export type ChoiceFilter = (typeof CHOICE_FILTERS)[number][0];

/** What the portal knows of a shop for its filters; each part may be missing (an error leaves fewer choices). */
interface Known {
  facets: Facets | null;
  settings: ResolveSettings | null;
  members: Assignee[] | null;
}

/** The filter values the shop's claims, reasons and team give: fetched when the list opens. */
export function useKnownValues(slug: string): Known {
  const [known, setKnown] = useState<Known>({ facets: null, settings: null, members: null });
  useEffect(() => {
    let live = true;
    const base = `/v1/shops/${slug}`;
    const soft = <T,>(p: Promise<T>) => p.catch((e) => (e instanceof ApiError ? null : Promise.reject(e)));
    Promise.all([
      soft(api<Facets>('GET', `${base}/claims/facets`)),
      soft(api<ResolveSettings>('GET', `${base}/settings/resolve`)),
      soft(api<{ data: Assignee[] }>('GET', `${base}/assignees`)),
    ]).then(
      ([facets, settings, members]) => live && setKnown({ facets, settings, members: members?.data ?? null }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [slug]);
  return known;
}

/** A claim's reason in the shop's words (its configured English label), or the code in words when none. */
export function reasonLabeller(settings: ResolveSettings | null) {
  return (flow: string, code: string) =>
    (settings?.flows as Record<string, FlowSettings> | undefined)?.[flow]?.reasons.find(
      (r) => r.code === code,
    )?.labels.en || label(code);
}

/** The shop's Resolve settings, for a page that does not load the filters' values (claim, order); null until read. */
export function useResolveSettings(slug: string): ResolveSettings | null {
  const [settings, setSettings] = useState<ResolveSettings | null>(null);
  useEffect(() => {
    let live = true;
    api<ResolveSettings>('GET', `/v1/shops/${slug}/settings/resolve`).then(
      (s) => live && setSettings(s),
      () => undefined, // the codes in words, then
    );
    return () => {
      live = false;
    };
  }, [slug]);
  return settings;
}

/** reasonLabeller for a page that does not load the filters' values (claim, order). */
export function useReasonLabel(slug: string) {
  return reasonLabeller(useResolveSettings(slug));
}

/**
 * A custom question's answer in the shop's words: the question's English label and a choice's option label
 * ("Which size do you usually wear?", "Medium"); yes/no reads Yes/No. A question deleted since shows its id in
 * words.
 */
export function answerText(
  settings: ResolveSettings | null,
  flow: string,
  answer: { prompt_id: string; value: string | boolean },
): { question: string; answer: string } {
  const prompt = (settings?.flows as Record<string, FlowSettings> | undefined)?.[flow]?.prompts.find(
    (p) => p.id === answer.prompt_id,
  );
  const v = answer.value;
  return {
    question: prompt?.labels.en || label(answer.prompt_id),
    answer:
      typeof v === 'boolean'
        ? v
          ? 'Yes'
          : 'No'
        : (prompt?.options?.find((o) => o.value === v)?.labels.en ?? v),
  };
}

/**
 * The part of a Reason filter that fits the flow chosen: a `flow:code` of another flow goes, and so does a bare
 * code the flow's choices do not hold. Undefined when nothing is left; the value as it is while choices are unknown.
 */
export function reasonForFlow(reason: string | undefined, flow: string | undefined, known: Known) {
  if (!reason || !flow || (!known.settings && !known.facets)) return reason;
  const flows = flow.split(',').filter(Boolean);
  const values = choicesOf(known, flows).reason.flatMap((g) =>
    g.choices.flatMap((c) => [c.value, ...(c.same ?? [])]),
  );
  const kept = reason
    .split(',')
    .filter((v) =>
      v.includes(':')
        ? flows.includes(v.split(':', 1)[0])
        : values.some((x) => x === v || x.endsWith(`:${v}`)),
    );
  return kept.join(',') || undefined;
}

const NONE_LABEL: Record<string, string> = {
  carrier: 'No single shipment',
  country: 'No shipping address',
  assignee: 'Unassigned',
};
const NONE_VALUE: Record<string, string> = { carrier: 'none', country: 'none', assignee: 'unassigned' };
/** A list filter splits on commas: a value with one cannot be chosen alone. */
const usable = (v: string) => v.trim() !== '' && !v.includes(',');
const byLabel = (a: Choice, b: Choice) => a.label.localeCompare(b.label);
const memberLabel = (m: Assignee) => (m.name ? `${m.name} (${m.email})` : m.email);

/** The choices of each filter, in words: "Germany (DE)", "Broken on arrival", "Kim (kim@shop.example)". */
export function choicesOf(known: Known, flows: string[]): Record<ChoiceFilter, ChoiceGroup[]> {
  const { facets, settings, members } = known;
  const plain = (choices: Choice[]): ChoiceGroup[] => (choices.length ? [{ label: '', choices }] : []);
  const withNone = (key: 'carrier' | 'country' | 'assignee', choices: Choice[], hasNone: boolean) =>
    hasNone ? [{ value: NONE_VALUE[key], label: NONE_LABEL[key] }, ...choices] : choices;

  // Reasons: each flow's configured reasons (their English label), and codes only old claims still carry.
  // A code offered in several of the flows shown ("other") is sent as flow:code, so the one under "Return"
  // lists Return claims only; a code of one flow is sent as it is (it means that flow's reason anyway).
  const reasonGroups: ChoiceGroup[] = [];
  const flowsShown = [
    ...new Set<string>([...Object.keys(settings?.flows ?? {}), ...(facets?.reason.map((r) => r.flow) ?? [])]),
  ].filter((flow) => !flows.length || flows.includes(flow));
  const perFlow = flowsShown.map((flow) => {
    const configured = (settings?.flows as Record<string, FlowSettings> | undefined)?.[flow]?.reasons ?? [];
    const found: { code: string; label: string }[] = configured.map((r) => ({
      code: r.code,
      label: r.labels.en || label(r.code),
    }));
    for (const r of facets?.reason ?? [])
      if (r.flow === flow && !found.some((c) => c.code === r.key))
        found.push({ code: r.key, label: `${label(r.key)} (no longer offered)` });
    return { flow, found };
  });
  const flowsOf = new Map<string, number>();
  for (const { found } of perFlow) for (const c of found) flowsOf.set(c.code, (flowsOf.get(c.code) ?? 0) + 1);
  for (const { flow, found } of perFlow) {
    const choices: Choice[] = found.map((c) =>
      (flowsOf.get(c.code) ?? 0) > 1
        ? { value: `${flow}:${c.code}`, label: `${c.label} (${label(flow)})` }
        : { value: c.code, label: c.label, same: [`${flow}:${c.code}`] },
    );
    if (choices.length) reasonGroups.push({ label: label(flow), choices });
  }

  const carriers = (facets?.carrier ?? [])
    .filter((c): c is { key: string; claims: number } => c.key !== null && usable(c.key))
    .map((c) => ({ value: c.key, label: carrierName(c.key) }))
    .sort(byLabel);
  const countries = (facets?.country ?? [])
    .filter((c): c is { key: string; claims: number } => c.key !== null && /^[A-Za-z]{2}$/.test(c.key))
    .map((c) => ({ value: c.key.toUpperCase(), label: countryName(c.key) }))
    .sort(byLabel);
  const tags = (facets?.tag ?? [])
    .filter((t) => usable(t.key))
    .map((t) => ({ value: t.key, label: t.key }))
    .sort(byLabel);

  // Assignees: the team (who claims are assigned to from the portal), then anyone else claims name
  // (an API client may assign a helpdesk agent's id).
  const team = (members ?? []).map((m) => ({ value: m.email, label: memberLabel(m) })).sort(byLabel);
  const others = (facets?.assignee ?? [])
    .filter((a): a is { key: string; claims: number } => a.key !== null && usable(a.key))
    .filter((a) => !team.some((t) => t.value.toLowerCase() === a.key.toLowerCase()))
    .map((a) => ({ value: a.key, label: a.key }))
    .sort(byLabel);
  const assignee: ChoiceGroup[] = [
    { label: '', choices: [{ value: NONE_VALUE.assignee, label: NONE_LABEL.assignee }] },
    ...(team.length ? [{ label: 'Team', choices: team }] : []),
    ...(others.length ? [{ label: 'Others', choices: others }] : []),
  ];

  return {
    reason: reasonGroups,
    carrier: plain(withNone('carrier', carriers, !!facets?.carrier.some((c) => c.key === null))),
    country: plain(withNone('country', countries, !!facets?.country.some((c) => c.key === null))),
    tag: plain(tags),
    assignee,
  };
}

/** A value in words, for a value the choices do not hold (an old saved view, an edited URL, several values). */
export function describeValue(key: ChoiceFilter, value: string, groups: ChoiceGroup[]): string {
  const all = groups.flatMap((g) => g.choices);
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      const known = all.find((c) => c.value === v || c.same?.includes(v));
      if (known) return known.label;
      if (v === NONE_VALUE[key]) return NONE_LABEL[key];
      if (key === 'country' && /^[A-Za-z]{2}$/.test(v)) return countryName(v);
      if (key === 'carrier') return carrierName(v);
      if (key === 'reason') {
        // flow:code of a reason not offered now; a bare code (an old saved view or link) is that code in
        // every flow, said so.
        const [flow, code] = v.includes(':') ? v.split(':', 2) : [null, v];
        if (flow) return `${label(code)} (${label(flow)})`;
        const flows = groups.filter((g) => g.choices.some((c) => c.value.endsWith(`:${code}`)));
        const named = all.find((c) => c.value.endsWith(`:${code}`))?.label.replace(/ \([^)]*\)$/, '');
        return flows.length > 1 ? `${named ?? label(code)} (any issue)` : label(code);
      }
      return v;
    })
    .join(', ');
}

/** One filter as a select of the shop's values ("Any" first); a value from the URL it does not list is kept. */
export function ChoiceSelect({
  name,
  text,
  value,
  groups,
  onChange,
}: {
  name: ChoiceFilter;
  text: string;
  value: string;
  groups: ChoiceGroup[];
  onChange(value: string | undefined): void;
}) {
  // A value meaning the same as a listed one (a reason's flow:code for its bare code) selects that one.
  const shown = groups.flatMap((g) => g.choices).find((c) => c.same?.includes(value))?.value ?? value;
  const listed = groups.some((g) => g.choices.some((c) => c.value === shown));
  return (
    <label>
      <span className="label">{text}</span>
      <select
        name={name}
        aria-label={text}
        className="choice-filter"
        value={shown}
        onChange={(e) => onChange(e.target.value || undefined)}
      >
        <option value="">Any</option>
        {shown && !listed && <option value={shown}>{describeValue(name, shown, groups)}</option>}
        {groups.map((g) =>
          g.label ? (
            <optgroup key={g.label} label={g.label}>
              {g.choices.map((c) => (
                <option key={`${g.label}/${c.value}`} value={c.value}>
                  {c.label}
                </option>
              ))}
            </optgroup>
          ) : (
            g.choices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))
          ),
        )}
      </select>
    </label>
  );
}

/** Names of the list's query parameters, for a refusal said in words. */
const PARAM_NAMES: Record<string, string> = {
  status: 'Status',
  flow: 'Flow',
  resolution_preference: 'Preference',
  shipment_phase: 'Shipment phase',
  channel: 'Channel',
  reason: 'Reason',
  carrier: 'Carrier',
  country: 'Country',
  tag: 'Tag',
  assignee: 'Assignee',
  created_from: 'From',
  created_to: 'To',
  q: 'Search',
  sort: 'Sort',
  cursor: 'Load more',
};

/**
 * A refused list request (400) in a sentence naming the filters at fault, never the validator's pattern:
 * `querystring:/country must match pattern …` becomes 'The Country filter cannot use “Germany”. …'.
 */
export function listErrorText(
  error: ApiError,
  query: Record<string, string>,
): { text: string; keys: string[] } {
  if (error.status !== 400) return { text: error.message, keys: [] };
  const keys = [
    ...new Set(
      error.errors
        .map((e) => /^querystring:\/?([a-z_]+)/.exec(e.path)?.[1] ?? '')
        .filter((k) => k in PARAM_NAMES),
    ),
  ];
  if (!keys.length)
    return {
      text: 'The claims could not be listed with these filters. Clear the filters and try again.',
      keys,
    };
  // Dates are instants in the URL: said as the day the agent chose, not as an ISO time.
  const shown = (k: string) =>
    k === 'created_from' || k === 'created_to' ? dayText(query[k], k === 'created_to') : query[k];
  const one = (k: string) =>
    query[k]
      ? `the ${PARAM_NAMES[k]} filter cannot use “${shown(k)}”`
      : `the ${PARAM_NAMES[k]} filter is not valid`;
  const said = keys.map(one).join('; ');
  return {
    text: `${said.charAt(0).toUpperCase()}${said.slice(1)}. Choose ${keys.length === 1 ? 'a value' : 'values'} from the list, or clear ${keys.length === 1 ? 'the filter' : 'these filters'}.`,
    keys,
  };
}

/** An instant of a From/To filter as the day it stands for (To is exclusive: the day before); the text if no date. */
function dayText(iso: string, end: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (end) d.setDate(d.getDate() - 1);
  return date(d.toISOString());
}
