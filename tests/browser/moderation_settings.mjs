// The comment settings in headless Chromium: an admin opens them from the
// moderators' desk, adds a word to the banned list, tries a comment with it
// before saving (rejected, the typed list kept), then saves.
// Usage: node moderation_settings.mjs BASE_URL SCREENSHOT_DIR ADMIN_EMAIL PASSWORD
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots, adminEmail, password] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };

const WORD = 'flibbertigibbet';
const COMMENT = 'The minister is behaving like a flibbertigibbet about this budget and everyone knows it.';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const errors = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/account/sign-in');
  await page.fill('#email', adminEmail);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/sign-in'] button[type=submit]")]);

  await page.goto(base + '/moderation');
  await Promise.all([page.waitForNavigation(), page.click('.desk-nav a[href="/moderation/settings"]')]);
  expect((await page.locator('h1').textContent()).includes('Comment settings'), 'the settings open from the desk');
  expect(await page.locator('.settings-list').count() === 11, 'eleven word lists');
  await page.screenshot({ path: join(shots, 'moderation-settings.png') });
  console.log('ok: settings opened from the desk');

  const banned = await page.locator('#list_banned').inputValue();
  await page.fill('#list_banned', banned + '\n' + WORD);
  await page.fill('#try_text', COMMENT);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Check it")')]);
  const verdict = await page.locator('.settings-verdict').textContent();
  expect(verdict.includes('reject') && verdict.includes('banned word (' + WORD + ')'), 'the try box rejects the comment: ' + verdict);
  expect((await page.locator('#list_banned').inputValue()).endsWith(WORD), 'the typed list is kept');
  await page.screenshot({ path: join(shots, 'moderation-settings-try.png') });
  console.log('ok: tried before saving');

  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Save the settings")')]);
  expect((await page.locator('.comments-notice').first().textContent()).includes('Saved.'), 'saved');
  expect((await page.locator('#list-banned .desk-tag').textContent()).includes('own list'), 'the banned list is the publication\'s own');
  await page.locator('#list-banned').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'moderation-settings-lists.png') });
  await page.screenshot({ path: join(shots, 'moderation-settings-full.png'), fullPage: true });
  expect(errors.length === 0, 'no script errors: ' + errors.join('; '));
  console.log('ok: settings saved');
} finally {
  await browser.close();
}
