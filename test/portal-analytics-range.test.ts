import assert from 'node:assert/strict';
import { test } from 'node:test';

// The portal's analytics range (web/portal/src/pages/analytics/range.ts) counts days in the shop's time zone,
// never the browser's: "today", the presets and the instants sent to the API are the shop's. The page's module
// is loaded by tsx at run time (web/tsconfig checks it).

const web = (path: string) => import(`../web/portal/src/pages/analytics/${path}.ts`);

type Range = { preset: number | null; fromDay: string; toDay: string; interval: string };
interface RangeModule {
  rangeOf(search: string, zone: string, now?: Date): Range;
  instantsOf(r: { fromDay: string; toDay: string }, zone: string): { from: string; to: string };
  searchOf(r: Range): string;
}
const range = () => web('range') as Promise<RangeModule>;
const days = (fromDay: string, toDay: string) => ({ fromDay, toDay });

test('Europe/Berlin in winter: the days run from midnight UTC+1', async () => {
  const { instantsOf } = await range();
  assert.deepEqual(instantsOf(days('2026-01-05', '2026-01-11'), 'Europe/Berlin'), {
    from: '2026-01-04T23:00:00.000Z',
    to: '2026-01-11T23:00:00.000Z',
  });
  // One day: from its midnight to the next, 24 hours.
  assert.deepEqual(instantsOf(days('2026-11-30', '2026-11-30'), 'Europe/Berlin'), {
    from: '2026-11-29T23:00:00.000Z',
    to: '2026-11-30T23:00:00.000Z',
  });
});

test('Europe/Berlin across the DST changes: midnight UTC+1 to midnight UTC+2 and back', async () => {
  const { instantsOf } = await range();
  // Clocks go forward on Sunday 29 March 2026: the week ends at midnight UTC+2, 23 hours short of 7 days.
  const spring = instantsOf(days('2026-03-23', '2026-03-29'), 'Europe/Berlin');
  assert.deepEqual(spring, { from: '2026-03-22T23:00:00.000Z', to: '2026-03-29T22:00:00.000Z' });
  assert.equal(Date.parse(spring.to) - Date.parse(spring.from), 7 * 86_400_000 - 3_600_000);
  // The day of the change alone is 23 hours long.
  assert.deepEqual(instantsOf(days('2026-03-29', '2026-03-29'), 'Europe/Berlin'), {
    from: '2026-03-28T23:00:00.000Z',
    to: '2026-03-29T22:00:00.000Z',
  });
  // Clocks go back on Sunday 25 October 2026: that day is 25 hours long.
  const autumn = instantsOf(days('2026-10-25', '2026-10-25'), 'Europe/Berlin');
  assert.deepEqual(autumn, { from: '2026-10-24T22:00:00.000Z', to: '2026-10-25T23:00:00.000Z' });
  assert.equal(Date.parse(autumn.to) - Date.parse(autumn.from), 25 * 3_600_000);
  // Summer: UTC+2 on both ends.
  assert.deepEqual(instantsOf(days('2026-07-01', '2026-07-31'), 'Europe/Berlin'), {
    from: '2026-06-30T22:00:00.000Z',
    to: '2026-07-31T22:00:00.000Z',
  });
});

test('America/New_York: midnight UTC-5 in winter, UTC-4 after the March change', async () => {
  const { instantsOf } = await range();
  assert.deepEqual(instantsOf(days('2026-01-05', '2026-01-11'), 'America/New_York'), {
    from: '2026-01-05T05:00:00.000Z',
    to: '2026-01-12T05:00:00.000Z',
  });
  // Clocks go forward on Sunday 8 March 2026 (02:00 → 03:00).
  assert.deepEqual(instantsOf(days('2026-03-02', '2026-03-08'), 'America/New_York'), {
    from: '2026-03-02T05:00:00.000Z',
    to: '2026-03-09T04:00:00.000Z',
  });
  // And back on Sunday 1 November 2026.
  assert.deepEqual(instantsOf(days('2026-11-01', '2026-11-01'), 'America/New_York'), {
    from: '2026-11-01T04:00:00.000Z',
    to: '2026-11-02T05:00:00.000Z',
  });
});

test('Pacific/Auckland: days start the evening before in UTC, across both DST changes', async () => {
  const { instantsOf } = await range();
  // January is summer there (UTC+13).
  assert.deepEqual(instantsOf(days('2026-01-05', '2026-01-11'), 'Pacific/Auckland'), {
    from: '2026-01-04T11:00:00.000Z',
    to: '2026-01-11T11:00:00.000Z',
  });
  // Clocks go back on Sunday 5 April 2026 (UTC+13 → UTC+12).
  assert.deepEqual(instantsOf(days('2026-04-05', '2026-04-05'), 'Pacific/Auckland'), {
    from: '2026-04-04T11:00:00.000Z',
    to: '2026-04-05T12:00:00.000Z',
  });
  // And forward on Sunday 27 September 2026 (UTC+12 → UTC+13).
  assert.deepEqual(instantsOf(days('2026-09-21', '2026-09-27'), 'Pacific/Auckland'), {
    from: '2026-09-20T12:00:00.000Z',
    to: '2026-09-27T11:00:00.000Z',
  });
});

test('"today" and the presets are the shop’s days, not the browser’s', async () => {
  const { rangeOf, instantsOf } = await range();
  // 23:30 UTC on 29 November is already 30 November in Berlin, still 29 November in New York.
  const now = new Date('2026-11-29T23:30:00Z');
  const berlin = rangeOf('?range=7', 'Europe/Berlin', now);
  assert.deepEqual(berlin, { preset: 7, fromDay: '2026-11-24', toDay: '2026-11-30', interval: 'day' });
  assert.deepEqual(instantsOf(berlin, 'Europe/Berlin'), {
    from: '2026-11-23T23:00:00.000Z',
    to: '2026-11-30T23:00:00.000Z',
  });
  assert.deepEqual(rangeOf('?range=7', 'America/New_York', now), {
    preset: 7,
    fromDay: '2026-11-23',
    toDay: '2026-11-29',
    interval: 'day',
  });
  assert.deepEqual(rangeOf('', 'UTC', now), {
    preset: 30,
    fromDay: '2026-10-31',
    toDay: '2026-11-29',
    interval: 'day',
  });
  // 11:30 UTC on 28 February is already 1 March in Auckland (UTC+13).
  assert.deepEqual(rangeOf('?range=30&interval=week', 'Pacific/Auckland', new Date('2026-02-28T11:30:00Z')), {
    preset: 30,
    fromDay: '2026-01-31',
    toDay: '2026-03-01',
    interval: 'week',
  });
  // Across Berlin's DST change the presets still count calendar days.
  assert.deepEqual(rangeOf('?range=90', 'Europe/Berlin', new Date('2026-04-10T12:00:00Z')), {
    preset: 90,
    fromDay: '2026-01-11',
    toDay: '2026-04-10',
    interval: 'day',
  });
});

test('the URL keeps working: explicit days, presets, intervals, round trips', async () => {
  const { rangeOf, searchOf } = await range();
  const now = new Date('2026-11-29T23:30:00Z');
  const custom = rangeOf('?from=2026-01-01&to=2026-01-31&interval=month', 'Europe/Berlin', now);
  assert.deepEqual(custom, { preset: null, fromDay: '2026-01-01', toDay: '2026-01-31', interval: 'month' });
  assert.equal(searchOf(custom), '?from=2026-01-01&to=2026-01-31&interval=month');
  assert.equal(searchOf(rangeOf('?range=90', 'Europe/Berlin', now)), '?range=90');
  // A reversed or broken range, or an unknown preset, falls back to the last 30 days.
  assert.equal(rangeOf('?from=2026-02-01&to=2026-01-01', 'Europe/Berlin', now).preset, 30);
  assert.equal(rangeOf('?range=12&interval=year', 'Europe/Berlin', now).preset, 30);
  assert.equal(rangeOf('?range=12&interval=year', 'Europe/Berlin', now).interval, 'day');
});

test('a missing or unknown shop time zone falls back to UTC', async () => {
  const { shopZone } = (await web('range')) as { shopZone(tz: string | null | undefined): string };
  assert.equal(shopZone('Europe/Berlin'), 'Europe/Berlin');
  assert.equal(shopZone(undefined), 'UTC');
  assert.equal(shopZone(null), 'UTC');
  assert.equal(shopZone(''), 'UTC');
  assert.equal(shopZone('Mars/Olympus_Mons'), 'UTC');
});
