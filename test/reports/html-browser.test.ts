/**
 * The HTML report in a real browser (Debian's chromium, driven by
 * playwright-core): hostile strings stay inert, the layout holds, the
 * filters work from file://, and a screenshot is kept as an artefact in
 * .cache/artifacts/report.png.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml } from '../../reports/html.js';
import { writeAtomic } from '../../reports/write.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildRun, HOSTILE, PWNED } from '../fixtures/results-builder.js';
import { repoRoot } from '../fixtures/cache.js';

const CHROMIUM = process.env.VMSPEC_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = resolve(repoRoot, '.cache', 'artifacts');

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium (or set VMSPEC_CHROMIUM)`;

t.test('HTML report in headless Chromium', { skip }, async (t) => {
  const { chromium } = await import('playwright-core');
  const spec = loadSpecOrThrow('vmspec-v2');
  const run = buildRun({ hostile: true });
  const file = join(artifacts, 'report.html');
  writeAtomic(file, renderHtml(run, spec));

  const profile = mkdtempSync(join(tmpdir(), 'vmspec-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));

  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);

  await t.test('no script from the payload runs', async (t) => {
    t.same(dialogs, [], 'no alert/confirm dialog opened');
    t.equal(await page.evaluate((k) => (window as unknown as Record<string, unknown>)[k], PWNED), undefined, 'the payload global is unset');
    t.same(pageErrors, [], 'no uncaught page errors');
    t.same(consoleErrors, [], 'no console errors or CSP violations (nothing tried to run)');
    t.same(requests, [url], 'the page loaded nothing but itself (no network, no external assets)');
    const counts = await page.evaluate(() => ({
      script: document.querySelectorAll('script').length,
      img: document.querySelectorAll('img').length,
      svg: document.querySelectorAll('svg').length,
      iframe: document.querySelectorAll('iframe').length,
      handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
      b: document.querySelectorAll('b').length,
    }));
    t.same(counts, { script: 1, img: 0, svg: 0, iframe: 0, handlers: 0, b: 0 }, 'only the report\'s own script; no element from untrusted text');
    const text = await page.evaluate(() => document.body.textContent ?? '');
    t.ok(text.includes(HOSTILE.script), 'the script payload is shown as text');
    t.ok(text.includes('onerror="window.'), 'the attribute payload is shown as text');
    t.ok(text.includes('\\x07'), 'control characters are shown as visible escapes');
    t.ok(text.includes('[truncated:'), 'huge values say they were truncated');
  });

  await t.test('layout holds', async (t) => {
    for (const width of [1280, 420]) {
      await page.setViewportSize({ width, height: 900 });
      const m = await page.evaluate(() => {
        const main = document.getElementById('main')!;
        const limit = main.getBoundingClientRect().right + 1;
        const wide = [...main.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > limit && !el.closest('pre, .hscroll > *'));
        return {
          docOverflow: document.documentElement.scrollWidth - window.innerWidth,
          mainOverflow: main.scrollWidth - main.clientWidth,
          wide: wide.slice(0, 5).map((el) => `${el.tagName}.${el.className}`),
        };
      });
      t.ok(m.docOverflow <= 0, `no horizontal page scroll at ${width}px (overflow ${m.docOverflow})`);
      t.ok(m.mainOverflow <= 0, `main column does not overflow at ${width}px (overflow ${m.mainOverflow})`);
      t.same(m.wide, [], `no element sticks out of the main column at ${width}px (wide tables scroll inside their own box)`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test('filters work from file://', async (t) => {
    const visible = () => page.$$eval('article.clause', (els) => els.filter((e) => !(e as HTMLElement).hidden && (e as HTMLElement).offsetParent !== null).map((e) => ({ status: e.getAttribute('data-status'), level: e.getAttribute('data-level'), target: e.getAttribute('data-target') })));
    t.equal(await page.isVisible('#filters'), true, 'the filter bar is shown when scripts run');
    const all = await visible();
    t.equal(all.length, run.results.length, 'every clause is shown at first');

    // Leave only "fail" ticked in the status group.
    for (const box of await page.$$('#filters input[name="status"]')) {
      if ((await box.getAttribute('value')) !== 'fail') await box.uncheck();
    }
    const fails = await visible();
    t.ok(fails.length > 0 && fails.every((c) => c.status === 'fail'), 'only failing clauses are visible');
    t.equal(fails.length, run.results.filter((r) => r.status === 'fail').length, 'and all of them');
    t.match(await page.textContent('#shown-count'), `Showing ${fails.length} of ${run.results.length}`);
    await page.screenshot({ path: join(artifacts, 'report-failures.png'), fullPage: false });

    await page.click('#show-all');
    t.equal((await visible()).length, run.results.length, '"Show all" brings every clause back');
    await page.click('#show-problems');
    const problems = await visible();
    t.ok(problems.length > 0 && problems.every((c) => ['fail', 'error', 'waived'].includes(c.status ?? '')), '"Problems only" shows fail, error and waived');

    await page.click('#show-all');
    await page.uncheck('#filters input[name="level"][value="MUST"]');
    const noMust = await visible();
    t.ok(noMust.length > 0 && noMust.every((c) => c.level !== 'MUST'), 'unticking a level hides its clauses');
    await page.check('#filters input[name="level"][value="MUST"]');
    await page.uncheck('#filters input[name="target"][value="image"]');
    const noImage = await visible();
    t.ok(noImage.length > 0 && noImage.every((c) => c.target !== 'image'), 'unticking a target hides its clauses');
    const hiddenSections = await page.$$eval('section.spec-section', (els) => els.filter((e) => (e as HTMLElement).hidden).length);
    t.ok(hiddenSections >= 1, 'sections with nothing left to show are hidden');
    await page.click('#show-all');
    await page.check('#filters input[name="target"][value="image"]');
  });

  await t.test('print layout', async (t) => {
    await page.emulateMedia({ media: 'print' });
    t.equal(await page.isVisible('#filters'), false, 'filters are not printed');
    await page.emulateMedia({ media: 'screen' });
    const pdf = await page.pdf({ path: join(artifacts, 'report.pdf'), format: 'A4' });
    t.ok(pdf.length > 10_000, 'prints to PDF');
  });

  // The top of the report (run, summary, filters, first clauses); a full-page capture of a long report is too tall.
  await page.setViewportSize({ width: 1280, height: 2400 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: false });
  t.ok(existsSync(join(artifacts, 'report.png')), 'screenshot kept in .cache/artifacts/report.png');
});
