// Readers get their comments back, in headless Chromium: after an import,
// a member whose confirmed address was a registered account's on the old
// platform signs in, is offered the old comments on the account page,
// confirms, and finds them on "Your comments and replies".
// Usage: node import.mjs BASE_URL SCREENSHOT_DIR EMAIL PASSWORD
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots, email, password] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const errors = [];
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/account/sign-in');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/sign-in'] button[type=submit]")]);

  await page.goto(base + '/account');
  const notice = await page.locator('text=from your earlier account').first().textContent();
  expect(notice.includes('We found 2 comments from your earlier account'), 'the offer on the account page: ' + notice);
  console.log('ok: offered');
  await Promise.all([page.waitForNavigation(), page.click('a[href="/account/earlier-comments"]')]);
  expect(await page.locator('input[name=name][value=old]').isChecked(), 'the old name is the default');
  await page.screenshot({ path: join(shots, 'import-offer.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click("form[action='/account/earlier-comments'] button[type=submit]")]);
  expect(page.url().includes('/account/comments'), 'on my comments: ' + page.url());
  const body = await page.locator('main').textContent();
  expect(body.includes('Grandchild, first in the file.'), 'the old reply is on my page');
  expect(body.includes('मानसून जल्दी आया'), 'the old Hindi comment is on my page');
  await page.screenshot({ path: join(shots, 'import-claimed.png'), fullPage: true });
  console.log('ok: claimed');
  await page.goto(base + '/account');
  expect(!(await page.locator('main').textContent()).includes('from your earlier account'), 'the offer is gone');
  expect(errors.length === 0, 'no page errors: ' + errors.join('; '));
  console.log('ok: import');
} finally {
  await browser.close();
}
