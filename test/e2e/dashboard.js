// dashboard.js: drives Debian's Chromium (playwright-core) over pages that
// indicina.dashboard() wrote, for test/e2e/dashboard.sh, and prints one JSON
// object of what it saw.  Every request the pages make is recorded and
// answered with an abort unless it is the file:// page itself (or a data:
// or blob: URL, which never leave the browser).
//
//   node dashboard.js SEED_PAGE DIRTY_PAGE SCREENSHOT_DIR
'use strict';
const { chromium } = require('playwright-core');

const [seedPage, dirtyPage, shots] = process.argv.slice(2);

async function open(browser, file, width, height, seen) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === 'file://' + file) return route.continue();
    seen.network.push(url);
    return route.abort();
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!/^(file|data|blob):/.test(url)) seen.requests.push(url);
  });
  page.on('console', (msg) => { if (msg.type() === 'error') seen.console.push(msg.text()); });
  page.on('pageerror', (err) => seen.console.push(String(err)));
  await page.goto('file://' + file, { waitUntil: 'load' });
  return { context, page };
}

const tiles = (page) => page.evaluate(() => {
  const out = {};
  for (const id of ['tile-avg-income', 'tile-avg-txn', 'tile-customers', 'tile-applications']) {
    out[id] = document.querySelector('#' + id + ' .value').textContent;
  }
  return out;
});

// the rows of the table view of figure#id, as arrays of cell texts
const tableOf = (page, id) => page.evaluate((id) =>
  Array.from(document.querySelectorAll('#' + id + ' table tbody tr'))
    .map((tr) => Array.from(tr.cells).map((td) => td.textContent)), id);

(async () => {
  const seen = { network: [], requests: [], console: [] };
  const result = { seen };
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-default-apps', '--no-first-run',
           '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication'],
  });
  try {
    // ---- the seed warehouse at 1280 px ----
    let { context, page } = await open(browser, seedPage, 1280, 900, seen);
    result.title = await page.title();
    result.seedUnload = await page.textContent('#tile-unload .value');
    result.tiles = await tiles(page);
    result.mix = await tableOf(page, 'chart-employment');
    result.figures = await page.evaluate(() => Array.from(document.querySelectorAll('figure.chart')).map((f) => ({
      id: f.id,
      title: f.querySelector('figcaption .title') ? f.querySelector('figcaption .title').textContent : '',
      table: !!f.querySelector('table'),
      csv: !!f.querySelector('button[data-csv]'),
      svgLabelled: Array.from(f.querySelectorAll('svg')).every((s) => s.getAttribute('role') === 'img'
        && s.querySelector('title') && s.querySelector('desc') && s.querySelector('desc').textContent.length > 0),
    })));
    // a tooltip with the exact value
    await page.hover('#chart-income-status svg rect[data-tip]');
    result.tooltip = await page.evaluate(() => {
      const t = document.getElementById('tooltip');
      return t.hidden ? '' : t.textContent;
    });
    // a chart's CSV, downloaded from a blob: URL
    const [download] = await Promise.all([page.waitForEvent('download'),
                                          page.click('#chart-employment button[data-csv]')]);
    result.csvUrl = download.url();
    result.csvName = download.suggestedFilename();
    const stream = await download.createReadStream();
    let csv = '';
    for await (const chunk of stream) csv += chunk;
    result.csv = csv;
    await page.screenshot({ path: shots + '/dashboard-1280x900.png', fullPage: true });
    // the filter
    await page.selectOption('#filter-status', { label: 'Self-Employed' });
    result.selfEmployed = await tiles(page);
    result.selfEmployedMix = await tableOf(page, 'chart-employment');
    result.summary = await page.textContent('#filter-summary');
    result.selfEmployedRiskiest = (await tableOf(page, 'chart-riskiest')).map((r) => r[1]);
    // band and application months together
    await page.selectOption('#filter-status', { label: 'All' });
    await page.selectOption('#filter-band', { label: '300-579 poor' });
    await page.selectOption('#filter-from', { label: '2022-01' });
    await page.selectOption('#filter-to', { label: '2022-12' });
    result.bandMonths = await tiles(page);
    result.bandMonthsRiskiest = (await tableOf(page, 'chart-riskiest')).map((r) => r[1]);
    result.bandMonthsScore = await tableOf(page, 'chart-score');
    await page.click('#filter-reset');
    await page.waitForTimeout(50);
    result.afterReset = await tiles(page);
    await context.close();

    // ---- the same page at 390 px ----
    ({ context, page } = await open(browser, seedPage, 390, 844, seen));
    result.narrow = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
      bodyScrollWidth: document.body.scrollWidth,
    }));
    await page.screenshot({ path: shots + '/dashboard-390x844.png', fullPage: true });
    await context.close();

    // ---- the dirty warehouse: its data-quality panel ----
    ({ context, page } = await open(browser, dirtyPage, 1280, 900, seen));
    result.dirtyRejects = await tableOf(page, 'chart-rejects-code');
    result.dirtyFiles = await tableOf(page, 'chart-files');
    result.dirtyRuns = await tableOf(page, 'chart-runs');
    result.dirtyRules = await tableOf(page, 'chart-rules');
    result.dirtyTrend = await tableOf(page, 'chart-rule-trend');
    result.dirtyUnload = await page.textContent('#tile-unload .value');
    await page.screenshot({ path: shots + '/dashboard-dirty-1280x900.png', fullPage: true });
    await context.close();
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
})().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
