// UI check in code-server with the installed .vsix: open printf_nm.c from the Explorer, make a
// no-op edit on line 1 (a comment) and save, open the Problems panel (Ctrl+Shift+M), wait for the
// printf row, screenshot. Asserts the row and the natmod status bar item.
// Usage: node drive-ui.js <url> <screenshot.png> <expected 1-based line of the printf call>
// env NATMOD_NODE_TOOLS (playwright-core), NATMOD_TEST_TIMEOUT (s)
const wb = require('./workbench');
const [url, shot, line] = process.argv.slice(2);
const WAIT_MS = Number(process.env.NATMOD_TEST_TIMEOUT || 60) * 1000;

wb.check(url, shot, async (page) => {
  await wb.openFromExplorer(page, 'printf_nm.c');
  // the language client must be up before the save (else no didSave reaches the server)
  await wb.statusItem(page).filter({ hasText: /natmod .* · (idle|building|ok|errors)/ }).waitFor({ timeout: 30000 });
  await wb.touchSaveAndShowProblems(page);
  const row = wb.problemRow(page, line);
  await row.waitFor({ timeout: WAIT_MS });
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  console.log('PROBLEMS ROW:', text);
  const status = await wb.statusText(page);
  console.log('STATUS BAR:', status);
  await page.waitForTimeout(500);
  await page.screenshot({ path: shot });
  console.log('SCREENSHOT:', shot);
  if (!/undefined/i.test(text) || !/printf/.test(text)) throw new Error('the Problems row does not say "undefined ... printf": ' + text);
  if (!/natmod x64 · mpy 6\.3/.test(status)) throw new Error('status bar item: ' + JSON.stringify(status));
});
