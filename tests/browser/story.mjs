// A reader in headless Chromium: open the front page, follow the lead story,
// check its headline, dateline, time, a caption and its credit, follow a
// topic link, and save screenshots at phone and desktop widths.
// Usage: node story.mjs BASE_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const expect = (cond, msg) => { if (!cond) fail(msg); };

const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'masthead-chromium-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  let res = await page.goto(base + '/');
  expect(res.status() === 200, 'front page status ' + res.status());
  await page.screenshot({ path: join(shots, 'front-desktop.png'), fullPage: true });
  const lead = page.locator('.card-lead .card-headline a');
  const leadText = (await lead.textContent()).trim();
  await lead.click();
  await page.waitForLoadState('load');
  expect(/\/india\/[a-z0-9-]+-\d+$/.test(new URL(page.url()).pathname), 'story URL shape: ' + page.url());
  expect((await page.locator('h1.story-headline').textContent()).trim() === leadText, 'headline matches the link');
  expect((await page.locator('.dateline').textContent()).trim() === 'Thiruvananthapuram', 'dateline');
  const time = page.locator('.published time');
  expect((await time.getAttribute('datetime')) === '2020-11-25T00:16:00Z', 'time datetime');
  expect((await time.textContent()).trim() === 'November 25, 2020 05:46 am IST', 'time shown in IST');
  const lead_fig = page.locator('figure.figure-lead');
  expect((await lead_fig.locator('.caption').textContent()).includes('Clouds gather over Kovalam'), 'lead caption');
  expect((await lead_fig.locator('.credit').textContent()).includes('Handout photo released by'), 'lead credit');
  const img = lead_fig.locator('img');
  expect((await img.getAttribute('alt')) === 'Rain clouds over a beach', 'alt text');
  await img.evaluate((el) => el.decode());
  expect(await img.evaluate((el) => el.naturalWidth > 0), 'the lead photo loads');
  // Landmarks and heading order a screen reader relies on.
  expect(await page.locator('header[role=banner], main#main, footer[role=contentinfo]').count() === 3, 'landmarks');
  expect(await page.locator('h1').count() === 1, 'one h1');
  await page.screenshot({ path: join(shots, 'story-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, 'story-phone.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  expect(!overflow, 'no sideways scrolling on a phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.locator('a.topic', { hasText: 'Monsoon' }).click();
  await page.waitForLoadState('load');
  expect(new URL(page.url()).pathname === '/topic/monsoon', 'topic URL ' + page.url());
  expect((await page.locator('h1.list-title').textContent()).trim() === 'Monsoon', 'topic heading');
  expect(await page.locator('.card').count() >= 2, 'topic lists its stories');
  await page.screenshot({ path: join(shots, 'topic-desktop.png'), fullPage: true });
  expect(errors.length === 0, 'no errors in the console: ' + errors.join('; '));
  console.log('ok: story, topic, screenshots in ' + shots);
} finally {
  await context.close();
}
