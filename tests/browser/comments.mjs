// Comments in headless Chromium: a member posts a civil comment (shown), one
// in Hindi (refused with the reason, the text kept), an insult (refused or
// held), and a remark a moderator must see (held); a moderator approves it
// from the queue, and it appears for readers.
// Usage: node comments.mjs BASE_URL SCREENSHOT_DIR COMMENTS_PATH MEMBER_EMAIL MOD_EMAIL PASSWORD
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots, path, memberEmail, modEmail, password] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };

const CIVIL = 'The council should publish the whole budget before the vote, so that residents can see where the money goes.';
const HINDI = 'यह बहुत अच्छी खबर है, सरकार को इस पर जल्दी काम करना चाहिए।';
const INSULT = 'You are a complete idiot if you believe a word of this, and the writer is a moron.';
const HELD = 'The minister is an idiot who has no idea what he is doing with this budget.';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const errors = [];
  const open = async (email) => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base + '/account/sign-in');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click("form[action='/account/sign-in'] button[type=submit]")]);
    return page;
  };
  const post = async (page, text) => {
    await page.fill('form.comment-form textarea[name=body]', text);
    await Promise.all([page.waitForNavigation(), page.click('form.comment-form button[type=submit]')]);
  };

  const member = await open(memberEmail);
  await member.goto(base + path);
  expect((await member.locator('.comments-guidelines').textContent()).includes('in English, and in full sentences'), 'the guidelines are shown');

  await post(member, CIVIL);
  expect((await member.locator('.comments-list .comment-body').allTextContents()).some((t) => t.includes(CIVIL)), 'the civil comment is shown');
  console.log('ok: civil comment shown');

  await post(member, HINDI);
  expect((await member.locator('.form-errors').textContent()).includes('seems not to be in English'), 'the reason for the Hindi comment');
  expect((await member.locator('form.comment-form textarea[name=body]').inputValue()) === HINDI, 'the Hindi text stays in the box');
  await member.screenshot({ path: join(shots, 'comments-refused.png'), fullPage: true });
  console.log('ok: Hindi comment refused with its reason, text kept');

  await member.goto(base + path);
  await post(member, INSULT);
  const errorsShown = await member.locator('.form-errors').count();
  if (errorsShown) {
    expect((await member.locator('.form-errors').textContent()).includes('attack a person'), 'the reason for the insult');
    expect((await member.locator('form.comment-form textarea[name=body]').inputValue()) === INSULT, 'the insult stays in the box');
    console.log('ok: insult refused');
  } else {
    expect((await member.locator('.comment.is-pending').allTextContents()).some((t) => t.includes(INSULT)), 'the insult is held');
    console.log('ok: insult held');
  }

  await member.goto(base + path);
  await post(member, HELD);
  const pending = member.locator('.comment.is-pending', { hasText: HELD });
  expect(await pending.count() === 1, 'the remark is held for a moderator');
  expect((await pending.textContent()).includes('Awaiting review'), 'its author sees it is awaiting review');

  const anonymous = await (await browser.newContext()).newPage();
  await anonymous.goto(base + path);
  expect(!(await anonymous.content()).includes(HELD), 'other readers do not see the held remark');
  expect((await anonymous.content()).includes('Sign in to comment'), 'anonymous readers are asked to sign in');

  const moderator = await open(modEmail);
  await moderator.goto(base + '/moderation');
  const item = moderator.locator('.desk-item', { hasText: HELD });
  expect(await item.count() === 1, 'the held remark is in the queue');
  expect((await item.textContent()).includes('personal'), 'the queue shows the reason');
  await moderator.screenshot({ path: join(shots, 'comments-queue.png'), fullPage: true });
  await item.locator('input[name=ids]').check();
  await Promise.all([moderator.waitForNavigation(), moderator.click('.desk-actions button[value=approve]')]);
  expect((await moderator.locator('.comments-notice').textContent()).includes('approve'), 'the desk says what was done');
  expect(await moderator.locator('.desk-item', { hasText: HELD }).count() === 0, 'the queue no longer holds it');
  console.log('ok: moderator approved the held remark');

  await anonymous.reload();
  expect((await anonymous.content()).includes(HELD), 'readers see the approved remark');
  await anonymous.screenshot({ path: join(shots, 'comments-page.png'), fullPage: true });
  expect(errors.length === 0, 'no script errors: ' + errors.join('; '));
  console.log('ok: comments');
} finally {
  await browser.close();
}
