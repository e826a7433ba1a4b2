// UI check in code-server with the installed .vsix: open printf_nm.c from the Explorer, make a
// no-op edit on line 1 (a comment) and save, open the Problems panel (Ctrl+Shift+M), wait for the
// printf row, screenshot. Asserts the row and the natmod status bar item.
// Usage: node drive-ui.js <url> <screenshot.png> <expected 1-based line of the printf call>
// env NATMOD_NODE_TOOLS (playwright-core)
const path = require('path');
const { chromium } = require(path.join(process.env.NATMOD_NODE_TOOLS, 'node_modules', 'playwright-core'));
const [url, shot, line] = process.argv.slice(2);
const WAIT_MS = Number(process.env.NATMOD_TEST_TIMEOUT || 60) * 1000;

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--no-first-run', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage'],
  });
  let ok = false;
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  try {
    page.on('pageerror', (e) => console.error('[pageerror]', e.message));
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    const item = page.locator('.explorer-folders-view .monaco-list-row[aria-label*="printf_nm.c"]').first();
    await item.waitFor({ timeout: 60000 });
    await item.click();
    await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
    // the language client must be up before the save (else no didSave reaches the server)
    await page.locator('.statusbar-item').filter({ hasText: /natmod .* · (idle|building|ok|errors)/ }).first()
      .waitFor({ timeout: 30000 });
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('End');
    await page.keyboard.type(' ');
    await page.keyboard.press('Control+S');
    await page.keyboard.press('Control+Shift+M');
    // the marker row at the printf line (not the printf_nm.c file row above it)
    const row = page.locator('.markers-panel .monaco-list-row').filter({ hasText: `[Ln ${line},` }).first();
    await row.waitFor({ timeout: WAIT_MS });
    const text = (await row.innerText()).replace(/\s+/g, ' ');
    console.log('PROBLEMS ROW:', text);
    const status = page.locator('.statusbar-item:has-text("natmod")').first();
    const statusText = (await status.innerText({ timeout: 10000 }).catch(() => '')).replace(/\s+/g, ' ').trim();
    console.log('STATUS BAR:', statusText);
    await page.waitForTimeout(500);
    await page.screenshot({ path: shot });
    console.log('SCREENSHOT:', shot);
    if (!/undefined/i.test(text) || !/printf/.test(text)) throw new Error('the Problems row does not say "undefined ... printf": ' + text);
    if (!/natmod x64 · mpy 6\.3/.test(statusText)) throw new Error('status bar item: ' + JSON.stringify(statusText));
    ok = true;
  } catch (e) {
    console.error('FAIL:', e.message.split('\n')[0]);
    await page.screenshot({ path: shot }).then(() => console.log('SCREENSHOT (failure):', shot)).catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
})();
