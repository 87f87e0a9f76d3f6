import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { query } from '../../src/db/client.js';
import { type Language, REASON_LABELS } from '../../src/resolve/labels.js';
import { en } from '../../web/resolve/src/i18n/en.js';
import {
  browserAvailable,
  FIXTURE_JPEG,
  launch,
  newPage,
  type PageServer,
  seriousViolations,
  shooter,
  startPageServer,
  submitClaim,
  VIEWPORTS,
} from './support.js';

const run = browserAvailable();

/** The defective flow's default sub-reasons, as the server labels them in a language. */
const DEFECTIVE = ['damaged_in_transit', 'broken_on_arrival', 'stopped_working', 'manufacturing_defect'];
const reasonLabels = (lang: Language) => DEFECTIVE.map((code) => REASON_LABELS[code][lang]);

/** Any space Intl may put between a number and its currency (space, no-break, narrow no-break). */
const SP = '[ \\u00a0\\u202f]';
const FR_MONTHS = [
  'janv.',
  'févr.',
  'mars',
  'avr.',
  'mai',
  'juin',
  'juil.',
  'août',
  'sept.',
  'oct.',
  'nov.',
  'déc.',
];

const htmlLang = (page: Page) => page.evaluate(() => document.documentElement.lang);

describe('customer page: deep links and languages', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const link = (params: Record<string, string>, base = server) =>
    `${base.url}/resolve/demo?${new URLSearchParams(params).toString()}`;

  for (const vp of VIEWPORTS) {
    test(`${vp.name}: a deep link with flowType lands in the wizard, in the link's language`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'deep-link-flow', vp);
      // camelCase, as the SPEC's examples write it.
      await page.goto(link({ orderNumber: '1001', zipCode: '10115', flowType: 'missingItem', lang: 'de' }));
      await page.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      assert.equal(await htmlLang(page), 'de');
      assert.equal(await page.locator('#order-number').count(), 0, 'no lookup form');
      assert.equal(await page.getByRole('heading', { name: 'Bestellung finden' }).count(), 0);
      const progress = await page.locator('.progress-text').innerText();
      assert.match(progress, /Fehlender Artikel/);
      assert.match(progress, /Schritt 1 von 5/);
      assert.match(await page.locator('#items-hint').innerText(), /Wählen Sie die Artikel/);
      await page.getByRole('button', { name: 'Weiter' }).waitFor();
      await page.getByRole('button', { name: 'Zurück' }).waitFor();
      // The three delivered items are offered, none chosen yet.
      assert.deepEqual(await page.locator('.items li.item .item-title').allInnerTexts(), [
        'Organic cotton T-shirt',
        'Ceramic mug',
        'Merino socks (3 pairs)',
      ]);
      await page.getByRole('button', { name: 'Weiter' }).click();
      await page.getByText('Bitte wählen Sie mindestens einen Artikel.').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('missing-item-de');
      await context.close();

      // snake_case, as the API names the flow.
      const second = await newPage(browser, vp);
      await second.page.goto(
        link({ orderNumber: '1001', zipCode: '10115', flowType: 'missing_item', lang: 'de' }),
      );
      await second.page.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      assert.match(await second.page.locator('.progress-text').innerText(), /Fehlender Artikel/);
      assert.equal(await second.page.locator('#order-number').count(), 0);
      await second.context.close();

      // notReceived on the stuck order: the parcel's items come preselected.
      const third = await newPage(browser, vp);
      const shot3 = shooter(third.page, 'deep-link-not-received', vp);
      await third.page.goto(
        link({ orderNumber: '1004', zipCode: '50667', flowType: 'notReceived', lang: 'de' }),
      );
      await third.page.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      assert.match(await third.page.locator('.progress-text').innerText(), /Paket nicht erhalten/);
      assert.equal(await third.page.locator('#order-number').count(), 0);
      const boxes = third.page.locator('.items input[type=checkbox]');
      assert.equal(await boxes.count(), 2);
      for (const box of await boxes.all()) assert.ok(await box.isChecked());
      // A stuck parcel has one reason that fits, "stuck in transit" (5b23ab4): no reason step, the details next.
      assert.match(await third.page.locator('.progress-text').innerText(), /Schritt 1 von 4/);
      await third.page.getByRole('button', { name: 'Weiter' }).click();
      await third.page.getByRole('heading', { name: 'Erzählen Sie uns mehr' }).waitFor();
      assert.equal(await third.page.getByRole('heading', { name: 'Was ist passiert?' }).count(), 0);
      await shot3('details-de');
      await third.context.close();
    });

    test(`${vp.name}: a deep link without flowType opens the order, in French with French dates and money`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'deep-link-fr', vp);
      await page.goto(link({ orderNumber: '1001', zipCode: '10115', lang: 'fr' }));
      await page.getByRole('heading', { name: /^Bonjour Kim\s!$/ }).waitFor();
      assert.equal(await htmlLang(page), 'fr');
      assert.equal(await page.locator('#order-number').count(), 0, 'no lookup form');

      const [{ placed_at }] = await query<{ placed_at: Date }>(
        server.ctx.db,
        sql`select placed_at from orders where shop_id = ${server.demo.id} and order_number = '1001'`,
      );
      const placed = new Date(placed_at);
      const summary = await page.getByTestId('order-summary').innerText();
      assert.match(
        summary,
        new RegExp(
          `^Commande #1001 passée le ${placed.getDate()}${SP}${FR_MONTHS[placed.getMonth()].replace('.', '\\.')}${SP}${placed.getFullYear()}$`,
        ),
        summary,
      );
      // 2 × 24,99 + 14,99 + 19,99 + 4,95 shipping.
      assert.match(await page.locator('.total').innerText(), new RegExp(`^Total\\s+89,91${SP}€$`));
      assert.match(await page.locator('.items').innerText(), new RegExp(`Quantité${SP}: 2 · 24,99${SP}€`));
      assert.match(await page.locator('.shipment').innerText(), /Livré le \d{1,2}/);
      await page.getByRole('heading', { name: /^Comment pouvons-nous vous aider\s\?$/ }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('order-fr');

      await page.getByRole('button', { name: 'Un article est endommagé ou cassé' }).click();
      await page.getByRole('heading', { name: /^Quels articles sont concernés\s\?$/ }).waitFor();
      await page.getByLabel(/Ceramic mug/).check();
      await page.getByRole('button', { name: 'Continuer' }).click();
      await page.getByRole('heading', { name: /^Que s’est-il passé\s\?$/ }).waitFor();
      assert.deepEqual(await page.locator('.options label').allInnerTexts(), reasonLabels('fr'));
      assert.deepEqual(await seriousViolations(page), []);
      await shot('reason-fr');
      await context.close();
    });

    test(`${vp.name}: a deep link with a wrong ZIP shows the lookup, prefilled, with the not-found notice`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'deep-link-wrong', vp);
      await page.goto(link({ orderNumber: '1001', zipCode: '99999', flowType: 'missingItem', lang: 'en' }));
      await page.getByRole('heading', { name: en['lookup.title'] }).waitFor();
      await page.getByText(en['lookup.not_found']).waitFor();
      assert.equal(await page.getByLabel(en['lookup.order_number']).inputValue(), '1001');
      assert.equal(await page.getByLabel(en['lookup.zip_code']).inputValue(), '99999');
      assert.equal(await page.locator('.wizard').count(), 0);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('notice');

      // Correcting the ZIP is all it takes, and the link's flow still applies.
      await page.getByLabel(en['lookup.zip_code']).fill('10115');
      await page.getByRole('button', { name: en['lookup.submit'] }).click();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      assert.match(
        await page.locator('.progress-text').innerText(),
        new RegExp(en['flow_short.missing_item']),
      );
      await context.close();
    });

    test(`${vp.name}: the notices of a link that does not open the order are in the page's language`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'notice-language', vp);
      await page.goto(link({ orderNumber: '1001', zipCode: '99999', lang: 'de' }));
      await page.getByRole('heading', { name: 'Bestellung finden' }).waitFor();
      assert.equal(await page.getByLabel('Postleitzahl').inputValue(), '99999');
      await shot('not-found-de');
      const notice = page.locator('.card .alert');
      assert.equal(
        await notice.innerText(),
        'Wir konnten keine Bestellung mit dieser Nummer und Postleitzahl finden. Bitte prüfen Sie beide Angaben und versuchen Sie es erneut.',
      );
      await context.close();

      const second = await newPage(browser, vp);
      await second.page.goto(link({ token: 'garbage', lang: 'fr' }));
      await second.page.getByRole('heading', { name: 'Retrouver votre commande' }).waitFor();
      await shooter(second.page, 'notice-language', vp)('token-invalid-fr');
      const frNotice = second.page.locator('.card .alert');
      assert.equal(
        await frNotice.innerText(),
        'Ce lien n’est pas valide. Veuillez rechercher votre commande ci-dessous.',
      );
      // …and follow a switch of language like every other text.
      await second.page.getByRole('combobox', { name: 'Langue' }).selectOption('it');
      await second.page.getByRole('heading', { name: 'Trova il tuo ordine' }).waitFor();
      assert.equal(await frNotice.innerText(), 'Questo link non è valido. Cerca il tuo ordine qui sotto.');
      await second.context.close();
    });

    test(`${vp.name}: without lang the browser's language decides; the switcher changes it in place`, async () => {
      const { context, page } = await newPage(browser, vp, { locale: 'da-DK' });
      const shot = shooter(page, 'language-switch', vp);
      await page.goto(`${server.url}/resolve/demo`);
      await page.getByRole('heading', { name: 'Find din ordre' }).waitFor();
      assert.equal(await htmlLang(page), 'da');
      await page.getByRole('heading', { name: 'Få hjælp til din ordre' }).waitFor();
      assert.equal(await page.getByRole('combobox', { name: 'Sprog' }).inputValue(), 'da');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('lookup-da');

      await page.getByLabel('Ordrenummer').fill('1001');
      await page.getByLabel('Postnummer').fill('10115');
      await page.getByRole('button', { name: 'Find min ordre' }).click();
      await page.getByRole('heading', { name: 'Hej Kim!' }).waitFor();
      await page.getByRole('button', { name: 'En vare er beskadiget eller i stykker' }).waitFor();
      assert.match(await page.getByTestId('order-summary').innerText(), /^Ordre #1001 afgivet den /);
      await shot('order-da');

      // The switch happens in place: no reload, nothing typed is lost.
      await page.evaluate(() => {
        (window as unknown as { stillHere?: boolean }).stillHere = true;
      });
      await page.getByRole('combobox', { name: 'Sprog' }).selectOption('it');
      await page.getByRole('heading', { name: 'Ciao Kim!' }).waitFor();
      assert.equal(await htmlLang(page), 'it');
      assert.match(await page.getByTestId('order-summary').innerText(), /^Ordine #1001 effettuato il /);
      await page.getByRole('button', { name: 'Un articolo è danneggiato o rotto' }).waitFor();
      assert.equal(
        await page.getByRole('button', { name: 'En vare er beskadiget eller i stykker' }).count(),
        0,
      );
      assert.equal(await page.getByRole('combobox', { name: 'Lingua' }).inputValue(), 'it');
      assert.ok(
        await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere),
        'the page was not reloaded',
      );
      assert.deepEqual(await seriousViolations(page), []);
      await shot('order-it');

      // The server's labels (the sub-reasons) follow the language too.
      await page.getByRole('button', { name: 'Un articolo è danneggiato o rotto' }).click();
      await page.getByRole('heading', { name: 'Quali articoli sono interessati?' }).waitFor();
      await page.getByLabel(/Organic cotton T-shirt/).check();
      await page.getByRole('button', { name: 'Continua' }).click();
      await page.getByRole('heading', { name: 'Cosa è successo?' }).waitFor();
      assert.deepEqual(await page.locator('.options label').allInnerTexts(), reasonLabels('it'));
      assert.deepEqual(await seriousViolations(page), []);
      await shot('reason-it');

      // And back to Danish on this step: heading and labels change without leaving it.
      await page.getByLabel(REASON_LABELS.stopped_working.it!).check();
      await page.getByRole('combobox', { name: 'Lingua' }).selectOption('da');
      await page.getByRole('heading', { name: 'Hvad skete der?' }).waitFor();
      await page.getByText(REASON_LABELS.damaged_in_transit.da!).waitFor();
      assert.deepEqual(await page.locator('.options label').allInnerTexts(), reasonLabels('da'));
      assert.ok(await page.getByLabel(REASON_LABELS.stopped_working.da!).isChecked(), 'the choice is kept');
      await shot('reason-da');
      await context.close();
    });

    test(`${vp.name}: a whole missing-item claim in German, to the German confirmation; the link again shows it`, async () => {
      // A server of its own: once 1001 has a missing-item request, its deep link opens the order (below), and the
      // other tests' links to that flow must still open the form.
      const own = await startPageServer();
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'claim-de', vp);
      const claimsOf = () =>
        query<{ number: string; flow: string; reason: string; language: string | null; items: string }>(
          own.ctx.db,
          sql`select c.number, c.flow, c.reason, c.language,
                     (select string_agg(i.quantity || ' ' || i.title, ', ') from claim_items i where i.claim_id = c.id) as items
                from claims c join orders o on o.id = c.order_id
               where o.shop_id = ${own.demo.id} and o.order_number = '1001' order by c.created_at`,
        );
      const before = (await claimsOf()).length;
      const deepLink = link(
        { orderNumber: '1001', zipCode: '10115', flowType: 'missing_item', lang: 'de' },
        own,
      );

      await page.goto(deepLink);
      await page.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      // Each viewport reports another item, one unit.
      const item = vp.name === 'phone' ? 'Organic cotton T-shirt' : 'Merino socks (3 pairs)';
      await page.getByLabel(new RegExp(item.replace(/[()]/g, '\\$&'))).check();
      if (vp.name === 'phone')
        assert.match(await page.locator('[data-testid^="qty-"]').innerText(), /^1 von 2$/);
      await shot('items');
      await page.getByRole('button', { name: 'Weiter' }).click();

      await page.getByRole('heading', { name: 'Fotos hinzufügen' }).waitFor();
      assert.match(await page.locator('.progress-text').innerText(), /Schritt 2 von 5/);
      await page.getByText('Foto des Pakets (optional)').waitFor();
      if (vp.name === 'phone') {
        await page.getByTestId('file-package_photo-package').setInputFiles(FIXTURE_JPEG);
        await page.getByText('Hochgeladen').waitFor();
      }
      assert.deepEqual(await seriousViolations(page), []);
      await shot('evidence');
      await page.getByRole('button', { name: 'Weiter' }).click();

      await page.getByRole('heading', { name: 'Erzählen Sie uns mehr' }).waitFor();
      const text = 'Im Paket fehlte ein Artikel, der Karton war aber unbeschädigt.';
      await page.getByLabel('Beschreiben Sie das Problem (optional)').fill(text);
      await page.getByText(`${text.length} / 2000 Zeichen`).waitFor();
      await page.getByRole('button', { name: 'Weiter' }).click();

      await page.getByRole('heading', { name: 'Welche Lösung wünschen Sie sich?' }).waitFor();
      await page.getByRole('button', { name: 'Weiter' }).click();
      await page.getByText('Bitte wählen Sie eine Option.').waitFor();
      await page.getByLabel(/Ersatz/).check();
      await page.getByRole('button', { name: 'Weiter' }).click();

      await page.getByRole('heading', { name: 'Prüfen und absenden' }).waitFor();
      const review = await page.getByTestId('review').innerText();
      assert.match(review, /Anliegen\s+In meinem Paket fehlt etwas/);
      assert.match(review, new RegExp(`1 × ${item.replace(/[()]/g, '\\$&')}`));
      assert.match(review, new RegExp(`Was passiert ist\\s+${REASON_LABELS.missing_from_parcel.de}`));
      if (vp.name === 'phone') assert.match(review, /Fotos\s+1 Foto(?!s)/);
      else assert.doesNotMatch(review, /Fotos\s+\d/);
      assert.match(review, /Gewünschte Lösung\s+Ersatz/);
      await page.getByText('Wir antworten Ihnen an kim.berg@example.com.').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('review');

      await page.getByRole('button', { name: 'Anfrage senden' }).click();
      const done = page.getByTestId('confirmation');
      await done.getByRole('heading', { name: 'Vielen Dank, wir haben Ihre Anfrage erhalten' }).waitFor();
      const number = /Ihre Anfragenummer lautet ([A-Z0-9-]+)\./.exec(await done.innerText())?.[1];
      assert.ok(number, await done.innerText());
      await done.getByText(/Wir sehen sie uns an und melden uns per E-Mail bei Ihnen/).waitFor();
      await done.getByRole('button', { name: 'Zurück zu meiner Bestellung' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('confirmation');

      const after = await claimsOf();
      assert.equal(after.length, before + 1);
      const claim = after.at(-1)!;
      assert.equal(claim.number, number);
      assert.equal(claim.flow, 'missing_item');
      assert.equal(claim.reason, 'missing_from_parcel');
      assert.equal(claim.language, 'de');
      assert.equal(claim.items, `1 ${item}`);

      // Coming back through the same link ("you can come back to this page at any time to see its status"):
      // a reload, and the link opened again in a new tab, show the order with the request, not a new form.
      const requests = (p: Page) => p.getByTestId('earlier-claims');
      await page.reload();
      await requests(page).getByText(number).waitFor();
      await page.getByRole('heading', { name: 'Ihre Anfragen zu dieser Bestellung' }).waitFor();
      assert.equal(await page.locator('.wizard').count(), 0, 'no new form after a reload');
      await shot('reload-after-sending');
      const again = await context.newPage();
      await again.goto(deepLink);
      await requests(again).getByText(number).waitFor();
      assert.equal(await again.locator('.wizard').count(), 0, 'no new form when the link is opened again');
      assert.match(await requests(again).innerText(), /Fehlender Artikel/);
      assert.deepEqual(await seriousViolations(again), []);
      await shooter(again, 'claim-de-link-again', vp)('order');
      // From there another report of the flow can still be started, and a reload in it keeps the report.
      await again.getByRole('button', { name: 'In meinem Paket fehlt etwas' }).click();
      await again.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      assert.match(await again.locator('.progress-text').innerText(), /Schritt 1 von 5/);
      const other = vp.name === 'phone' ? 'Ceramic mug' : 'Organic cotton T-shirt';
      await again.getByRole('checkbox', { name: new RegExp(other) }).check();
      await again.reload();
      await again.getByRole('heading', { name: 'Welche Artikel sind betroffen?' }).waitFor();
      assert.ok(
        await again.getByRole('checkbox', { name: new RegExp(other) }).isChecked(),
        'the report under way is kept',
      );
      await context.close();
      await own.close();
    });

    test(`${vp.name}: a deep link to a flow the order has a request of (sent elsewhere) opens the order`, async () => {
      const own = await startPageServer();
      const { context, page } = await newPage(browser, vp);
      try {
        // Sent from another device: this browser has nothing stored about it.
        const sent = await submitClaim(
          own,
          { order_number: '1001', zip_code: '10115' },
          (flows) => ({
            flow: 'defective',
            reason: 'broken_on_arrival',
            items: [
              { line_item_id: flows.find((f) => f.flow === 'defective')!.items[1].line_item_id, quantity: 1 },
            ],
            resolution_preference: 'replacement',
          }),
          1,
        );
        await page.goto(
          link({ orderNumber: '1001', zipCode: '10115', flowType: 'defective', lang: 'en' }, own),
        );
        await page.getByTestId('earlier-claims').getByText(sent.number).waitFor();
        assert.equal(await page.locator('.wizard').count(), 0);
        await page.getByRole('button', { name: en['flow.defective'] }).waitFor();
        await shooter(page, 'deep-link-flow-reported', vp)('order');
        // Another flow of the same order still opens its form.
        await page.goto(
          link({ orderNumber: '1001', zipCode: '10115', flowType: 'wrongItem', lang: 'en' }, own),
        );
        await page.getByRole('heading', { name: en['items.title'] }).waitFor();
        assert.match(
          await page.locator('.progress-text').innerText(),
          new RegExp(en['flow_short.wrong_item']),
        );
      } finally {
        await context.close();
        await own.close();
      }
    });
  }
});
