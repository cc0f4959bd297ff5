// The member flow in headless Chromium: an anonymous reader reads up to the
// limit, meets the registration wall, registers, opens the confirmation mail
// as the SMTP server received it, reads on to the member limit, meets the
// subscription wall, saves a story (with the page's script, and again with
// JavaScript off) and finds it on the Saved page.
// Usage: node member.mjs BASE_URL SCREENSHOT_DIR MAILDIR PUBLIC_URL EMAIL FULL_LINE STORY_PATH...
//   MAILDIR: the folder the SMTP server stores what it receives in (its new/ files are read)
//   PUBLIC_URL: the site address the mail's links are built from; mapped onto BASE_URL
//   FULL_LINE: a sentence only full readers see
//   STORY_PATH: 11 metered stories (3 anonymous + 7 member reads, and one past the limit)
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, shots, maildir, publicUrl, email, fullLine, ...stories] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };
const ok = (msg) => console.log('ok: ' + msg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
expect(stories.length === 11, 'needs 11 story paths, got ' + stories.length);
const NAME = 'Meera Nair';
const PASSWORD = 'monsoon-reader-2020';
const ANONYMOUS_LIMIT = 3;
const MEMBER_LIMIT = 10;

const leftText = (left) => left === 0 ? 'This is your last free story this month.'
  : left === 1 ? 'You have 1 free story left this month.'
  : `You have ${left} free stories left this month.`;

/// The mail the SMTP server stored for `to`, parsed by Python's `email`
/// package (an independent reader); waits up to 10 s for it to arrive.
async function receivedMail(to) {
  const dir = join(maildir, 'new');
  const script = `
import email, json, sys
from email import policy
with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=policy.default)
p = m.get_body(preferencelist=('plain',))
print(json.dumps({'to': str(m['to']), 'subject': str(m['subject']), 'text': p.get_content() if p else ''}))
`;
  for (let i = 0; i < 200; i++) {
    let files = [];
    try { files = readdirSync(dir); } catch { /* not made until the first mail */ }
    const mails = files.map((f) => JSON.parse(execFileSync('python3', ['-c', script, join(dir, f)], { encoding: 'utf8' })));
    const mine = mails.filter((m) => m.to.includes(to));
    if (mine.length > 0) {
      expect(mine.length === 1, `one mail to ${to}, got ${mine.length}`);
      return mine[0];
    }
    await sleep(50);
  }
  fail(`no mail to ${to} reached the SMTP server in 10 s`);
}

/// Opens a story and answers what a reader sees of it.
async function open(page, path) {
  const res = await page.goto(base + path);
  expect(res.status() === 200, `${path}: status ${res.status()}`);
  return seen(page);
}

async function seen(page) {
  const html = await page.content();
  const notice = page.locator('.meter-notice');
  return {
    full: html.includes(fullLine),
    wall: await page.locator('.wall').count() > 0,
    notice: await notice.count() > 0 ? (await notice.textContent()).trim() : '',
  };
}

async function readsInFull(page, path, left, who) {
  const s = await open(page, path);
  expect(s.full, `${who} reads ${path} in full`);
  expect(!s.wall, `${who}: no wall on ${path}`);
  expect(s.notice.startsWith(leftText(left)), `${who} on ${path}: notice "${s.notice}", wanted "${leftText(left)}"`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // 1. Anonymous: three stories in full, the notice counting down; the
  //    fourth stops at the registration wall, and its text past the cut never
  //    reaches the browser.
  for (let i = 0; i < ANONYMOUS_LIMIT; i++) {
    await readsInFull(page, stories[i], ANONYMOUS_LIMIT - 1 - i, 'anonymous');
    expect(await page.locator('.meter-notice a[href="/account/register"]').count() === 1, 'the notice offers registration');
  }
  const meter = (await context.cookies()).find((c) => c.name === 'mh_meter');
  expect(meter && meter.secure, 'the meter cookie is kept (Secure, over http://127.0.0.1): ' + JSON.stringify(meter));
  const walled = stories[ANONYMOUS_LIMIT];
  let s = await open(page, walled);
  expect(s.wall, 'the fourth story shows the wall');
  expect(!s.full, 'the text past the cut is not in the walled page');
  expect(await page.locator('.story-paywalled').count() === 0, 'no paywalled part on the walled page');
  expect(s.notice === '', 'no meter notice at the wall');
  const heading = (await page.locator('.wall h2').textContent()).trim();
  expect(heading === 'You have read your 3 free stories this month', 'registration wall heading: ' + heading);
  await page.locator('.wall').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'member-wall-register.png'), fullPage: true });
  ok('anonymous reader read 3 stories (notice 2, 1, last), the 4th stops at the registration wall');

  // 2. Register from the wall; confirm by the mailed link.
  await page.locator('.wall a', { hasText: 'Register for free' }).click();
  await page.waitForLoadState('load');
  let url = new URL(page.url());
  expect(url.pathname === '/account/register' && url.searchParams.get('next') === walled, 'register form keeps the story: ' + page.url());
  await page.fill('#email', email);
  await page.fill('#name', NAME);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL('**/account/register'), page.locator('form.form button[type=submit]').click()]);
  expect((await page.locator('main h1').textContent()).trim() === 'Check your inbox', 'registration answers "Check your inbox"');
  expect((await page.locator('.form-lede strong').textContent()).trim() === email, 'it names the address');
  await page.screenshot({ path: join(shots, 'member-check-inbox.png'), fullPage: true });

  const mail = await receivedMail(email);
  expect(mail.subject === 'Confirm your e-mail address for The Test Herald', 'mail subject: ' + mail.subject);
  expect(mail.text.includes('Hello ' + NAME + ','), 'the mail greets the member by name');
  const links = mail.text.match(/https?:\/\/\S+/g) || [];
  const link = links.find((l) => l.includes('/account/verify?'));
  expect(link && link.startsWith(publicUrl.replace(/\/$/, '') + '/'), 'the mail links to the public address: ' + links.join(' '));
  const mailed = new URL(link);
  expect(mailed.searchParams.get('next') === walled, 'the link returns to the story: ' + link);
  ok('the SMTP server received the confirmation mail for ' + email);

  await page.goto(base + mailed.pathname + mailed.search);
  expect((await page.locator('main h1').textContent()).trim() === 'Confirm your address', 'the mailed link opens the confirm page');
  expect(await page.locator('.account-links').textContent().then((t) => !t.includes(NAME)), 'not signed in before confirming');
  await page.screenshot({ path: join(shots, 'member-confirm.png'), fullPage: true });
  await Promise.all([page.waitForURL(base + walled), page.locator('button', { hasText: 'Confirm and sign in' }).click()]);
  const who = page.locator('.account-links a[href="/account"]');
  expect(await who.count() === 1 && (await who.textContent()).trim() === NAME, 'the header shows the member\'s name');
  s = await seen(page);
  expect(s.full && !s.wall, 'back on the story, now readable in full');
  // Anonymous reads merged (3) + this one: 6 of 10 left.
  expect(s.notice.startsWith(leftText(MEMBER_LIMIT - ANONYMOUS_LIMIT - 1)), 'member notice after sign-in: ' + s.notice);
  expect(!(await context.cookies()).some((c) => c.name === 'mh_meter'), 'the anonymous meter cookie is gone');
  ok('confirmed from the mail, signed in as ' + NAME + ', the story is open in full (6 left)');

  // 3. Read on to the member limit, then the subscription wall.
  for (let i = ANONYMOUS_LIMIT + 1; i < MEMBER_LIMIT; i++) {
    await readsInFull(page, stories[i], MEMBER_LIMIT - 1 - i, 'member');
  }
  s = await open(page, stories[MEMBER_LIMIT]);
  expect(s.wall && !s.full, 'the 11th story stops at the wall');
  const subHeading = (await page.locator('.wall h2').textContent()).trim();
  expect(subHeading === 'You have read your 10 free stories this month', 'subscription wall heading: ' + subHeading);
  expect(await page.locator('.wall a[href="/account/subscribe"]').count() === 1, 'the wall offers a subscription');
  expect(await page.locator('.wall a[href^="/account/register"]').count() === 0, 'no registration offer for a member');
  await page.screenshot({ path: join(shots, 'member-wall-subscribe.png'), fullPage: true });
  await who.click();
  await page.waitForURL(base + '/account');
  const plan = (await page.locator('.account-facts').textContent()).replace(/\s+/g, ' ');
  expect(plan.includes('you have read 10 this month'), 'the account page counts 10 reads: ' + plan);
  ok('member read to 10 (notice 5 ... last), the 11th stops at the subscription wall');

  // 4. Save a story already read (it still opens in full) with the script:
  //    the button turns over without a page load.
  const first = stories[5];
  s = await open(page, first);
  expect(s.full && !s.wall, 'a story read this month opens again past the limit');
  const headline = (await page.locator('h1.story-headline').textContent()).trim();
  const button = page.locator('.story-actions .save-button');
  expect((await button.textContent()).trim() === 'Save' && (await button.getAttribute('aria-pressed')) === 'false', 'the button offers Save');
  await page.evaluate(() => { window.__samePage = true; });
  let loads = 0;
  page.on('load', () => { loads++; });
  const posts = [];
  page.on('response', (r) => { if (r.request().method() === 'POST') posts.push(`${r.request().resourceType()} ${r.url()} ${r.status()}`); });
  await button.click();
  await page.waitForSelector('.story-actions .save-button[aria-pressed="true"]', { timeout: 5000 });
  expect((await button.textContent()).trim() === 'Saved', 'the button says Saved');
  expect(page.url() === base + first, 'the address did not change: ' + page.url());
  expect(loads === 0 && await page.evaluate(() => window.__samePage === true), `no page load (loads ${loads}; POSTs: ${posts.join(', ')})`);
  await page.locator('.account-links a', { hasText: 'Saved' }).click();
  await page.waitForURL(base + '/account/saved');
  expect((await page.locator('h1.list-title').textContent()).trim() === 'Saved stories', 'Saved page heading');
  let items = page.locator('.saved-item .card-headline a');
  expect(await items.count() === 1, 'one saved story');
  expect((await items.first().textContent()).trim() === headline && (await items.first().getAttribute('href')) === first, 'the saved story is listed');
  ok('saved "' + headline + '" in place (aria-pressed, no page load) and found it on the Saved page');

  // With JavaScript off (the same session): the plain form post saves and
  // lands back on the story.
  const plain = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  await plain.addCookies((await context.cookies()).filter((c) => c.name === 'mh_session'));
  const noJs = await plain.newPage();
  const second = stories[7];
  s = await open(noJs, second);
  expect(s.full, 'without JavaScript the member reads a story read before');
  const headline2 = (await noJs.locator('h1.story-headline').textContent()).trim();
  const [posted] = await Promise.all([
    noJs.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/account/saved'),
    noJs.locator('.story-actions .save-button').click(),
  ]);
  expect(posted.status() === 303, 'the plain form post answers 303, got ' + posted.status());
  await noJs.waitForSelector('.story-actions .save-button[aria-pressed="true"]', { timeout: 5000 });
  expect(noJs.url() === base + second, 'back on the story: ' + noJs.url());
  expect((await noJs.locator('.story-actions .save-button').textContent()).trim() === 'Saved', 'without JavaScript: back on the story, Saved');
  await plain.close();

  await page.reload();
  items = page.locator('.saved-item .card-headline a');
  expect(await items.count() === 2, 'two saved stories');
  expect((await items.nth(0).textContent()).trim() === headline2 && (await items.nth(1).textContent()).trim() === headline,
    'the most recently saved first');
  expect((await page.locator('.list-count').textContent()).trim().startsWith('2 stories'), 'the count says 2 stories');
  await page.screenshot({ path: join(shots, 'member-saved.png'), fullPage: true });
  ok('saved "' + headline2 + '" with JavaScript off; the Saved page lists both, newest first');

  expect(errors.length === 0, 'no errors in the console: ' + errors.join('; '));
  await context.close();
  console.log('ok: member flow, screenshots in ' + shots);
} finally {
  await browser.close();
}
