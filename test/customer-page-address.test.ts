import assert from 'node:assert/strict';
import { test } from 'node:test';

// The shipping country on the customer page's address form is named in the page's language (it cannot be
// changed online, so it is text, not a code to type). The page's modules are loaded by tsx.

const web = (path: string) => import(`../web/resolve/src/${path}.ts`);

test('a country is named in the page’s language, and an unknown code stays as it is', async () => {
  const { formatCountry } = await web('i18n/index');
  assert.equal(formatCountry('en', 'DE'), 'Germany');
  assert.equal(formatCountry('de', 'DE'), 'Deutschland');
  assert.equal(formatCountry('fr', 'de'), 'Allemagne');
  assert.equal(formatCountry('en', 'GB'), 'United Kingdom');
  assert.equal(formatCountry('da', 'NL'), 'Nederlandene');
  assert.equal(formatCountry('en', 'D'), 'D');
});
