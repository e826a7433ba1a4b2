// Shared steps of the code-server drivers (drive-tests.js, drive-ui.js, drive-trust.js):
// headless Chromium, the workbench page, opening a file from the Explorer, a no-op edit and
// save, the Problems row at a line, the natmod status bar item, and the PASS/FAIL ending.
// env NATMOD_NODE_TOOLS: the directory whose node_modules has playwright-core.
const path = require('path');
const { chromium } = require(path.join(process.env.NATMOD_NODE_TOOLS, 'node_modules', 'playwright-core'));

/** Headless Chromium with the flags a sandboxed CI container needs. */
function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--no-first-run', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage'],
  });
}

/** A 1400x900 page of `browser` with the code-server workbench at `url` loaded. */
async function openWorkbench(browser, url) {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  return page;
}

/** Opens `name` from the Explorer and waits for its editor. */
async function openFromExplorer(page, name) {
  const item = page.locator(`.explorer-folders-view .monaco-list-row[aria-label*="${name}"]`).first();
  await item.waitFor({ timeout: 60000 });
  await item.click();
  await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
}

/** Appends a space to line 1 of the active editor, saves, and opens the Problems panel. */
async function touchSaveAndShowProblems(page) {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  await page.keyboard.press('Control+S');
  await page.keyboard.press('Control+Shift+M');
}

/** The Problems panel's marker row at 1-based `line` (not the file row above it). */
function problemRow(page, line) {
  return page.locator('.markers-panel .monaco-list-row').filter({ hasText: `[Ln ${line},` }).first();
}

/** The natmod status bar item (`natmod ARCH · ...`). */
function statusItem(page) {
  return page.locator('.statusbar-item').filter({ hasText: /natmod .* · / }).first();
}

/** The status bar item's text, whitespace collapsed ('' when it is not there). */
async function statusText(page) {
  return ((await statusItem(page).innerText({ timeout: 5000 }).catch(() => '')) || '').replace(/\s+/g, ' ').trim();
}

/** Runs `body(page)` on the workbench at `url`; on a throw, says FAIL and screenshots to
 * `failShot`. Closes the browser, prints PASS or FAIL and exits 0 or 1. */
async function check(url, failShot, body) {
  const browser = await launch();
  let ok = false;
  try {
    const page = await openWorkbench(browser, url);
    try {
      await body(page);
      ok = true;
    } catch (e) {
      console.error('FAIL:', e.message.split('\n')[0]);
      await page.screenshot({ path: failShot }).then(() => console.log('SCREENSHOT (failure):', failShot)).catch(() => {});
    }
  } catch (e) {
    console.error('FAIL: workbench:', e.message.split('\n')[0]);
  } finally {
    await browser.close();
  }
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

module.exports = { launch, openFromExplorer, touchSaveAndShowProblems, problemRow, statusItem, statusText, check };
