// Newsletters in headless Chromium: a visitor sees every newsletter with an
// address field (and the offers consent next to its box); a member subscribes
// with one click (the button turns over in place, and again with JavaScript
// off, by a plain form post); the preference page from a mail's link works
// without signing in. Screenshots of the list and the preference page.
// Usage: node newsletters.mjs BASE_URL SCREENSHOT_DIR PREFERENCES_PATH EMAIL PASSWORD STORY_PATH
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots, preferences, email, password, story] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };
const ok = (msg) => console.log('ok: ' + msg);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const errors = [];
  const context = async (javaScriptEnabled = true) => {
    const c = await browser.newContext({ viewport: { width: 1100, height: 900 }, javaScriptEnabled });
    const page = await c.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    return page;
  };
  const signIn = async (page) => {
    await page.goto(base + '/account/sign-in');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click("form[action='/account/sign-in'] button[type=submit]")]);
  };
  const button = (page, slug) => page.locator(`#${slug} form.newsletter-toggle button`);

  // A visitor: an address field under each newsletter; the consent words by the offers box.
  const visitor = await context();
  await visitor.goto(base + '/newsletters');
  expect(await visitor.locator('.newsletter-list > li.newsletter').count() === 3, 'three newsletters listed');
  expect(await visitor.locator('#weekly-digest input[type=email]').isVisible(), 'an address field');
  const consent = await visitor.locator('#offers label.consent').textContent();
  expect(consent.includes('send me offers'), 'the consent words next to the offers box: ' + consent);
  await visitor.screenshot({ path: join(shots, 'newsletters-anonymous.png'), fullPage: true });
  ok('visitor sees the newsletters');

  // The box under a story takes a visitor's address to the newsletters page.
  await visitor.goto(base + story);
  const box = visitor.locator('aside.newsletter-box');
  expect((await box.locator('h2').textContent()).includes('The Morning Briefing'), 'the box names the newsletter');
  await box.screenshot({ path: join(shots, 'newsletters-story-box.png') });
  await box.locator('input[type=email]').fill('ravi@example.org');
  await Promise.all([visitor.waitForNavigation(), box.locator('button').click()]);
  expect(await visitor.locator('#morning-briefing input[type=email]').inputValue() === 'ravi@example.org', 'the address is filled in');
  ok('story box leads to the sign-up');

  // A member: one click, turned over in place by the page's script.
  const member = await context();
  await signIn(member);
  await member.goto(base + '/newsletters');
  expect((await button(member, 'weekly-digest').textContent()).trim() === 'Subscribe', 'not subscribed yet');
  await member.evaluate(() => { window.stillHere = true; });
  await button(member, 'weekly-digest').click();
  await member.waitForFunction(() => document.querySelector('#weekly-digest form.newsletter-toggle button').textContent.trim() === 'Subscribed');
  expect(await member.evaluate(() => window.stillHere === true), 'no page load');
  expect(await button(member, 'weekly-digest').getAttribute('aria-pressed') === 'true', 'aria-pressed');
  await member.screenshot({ path: join(shots, 'newsletters-member.png'), fullPage: true });
  await member.reload();
  expect((await button(member, 'weekly-digest').textContent()).trim() === 'Subscribed', 'kept after a reload');
  ok('member subscribed in place');

  // With JavaScript off, the same button is a plain form post.
  const plain = await context(false);
  await signIn(plain);
  await plain.goto(base + '/newsletters');
  await Promise.all([plain.waitForNavigation(), button(plain, 'weekly-digest').click()]);
  expect((await button(plain, 'weekly-digest').textContent()).trim() === 'Subscribe', 'unsubscribed by a form post');
  ok('member unsubscribed with JavaScript off');

  // The preference page from a mail, in a browser that never signed in.
  const reader = await context();
  await reader.goto(base + preferences);
  expect((await reader.locator('h1').textContent()).includes('Your newsletters'), 'the preference page');
  expect((await reader.locator('.form-lede').textContent()).includes(email), 'names the address');
  await reader.screenshot({ path: join(shots, 'newsletters-preferences.png'), fullPage: true });
  await Promise.all([reader.waitForNavigation(), button(reader, 'morning-briefing').click()]);
  expect((await reader.locator('[role=status]').textContent()).includes('Saved'), 'saved');
  expect((await button(reader, 'morning-briefing').textContent()).trim() === 'Subscribe', 'unsubscribed from the page');
  ok('preference page changes without signing in');

  expect(errors.length === 0, 'script errors: ' + errors.join('; '));
  console.log('ok: newsletters');
} finally {
  await browser.close();
}
