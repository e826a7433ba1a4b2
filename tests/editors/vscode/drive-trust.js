// Workspace-trust check in code-server (trust enabled) with the installed .vsix: answer the
// startup prompt "No, I don't trust the authors" (Restricted Mode), open printf_nm.c, save: the
// server must build nothing (no Problems row, no build/ directory, status bar "untrusted").
// Then grant trust (Manage Workspace Trust -> Trust): the extension restarts the server with
// trusted=true; after a save the printf diagnostic appears. Screenshots both states.
// Usage: node drive-trust.js <url> <workspaceDir> <screenshot-prefix> <printf line (1-based)>
// env NATMOD_NODE_TOOLS (playwright-core), NATMOD_TEST_TIMEOUT (s)
const path = require('path');
const fs = require('fs');
const wb = require('./workbench');
const [url, ws, shotPrefix, line] = process.argv.slice(2);
const WAIT_MS = Number(process.env.NATMOD_TEST_TIMEOUT || 60) * 1000;

wb.check(url, `${shotPrefix}-failure.png`, async (page) => {
  const no = page.locator('.monaco-dialog-box .monaco-button').filter({ hasText: /No, I don.t trust/ }).first();
  await no.waitFor({ timeout: 30000 });
  await no.click();
  console.log('answered the trust prompt: No (Restricted Mode)');

  await wb.openFromExplorer(page, 'printf_nm.c');
  await wb.statusItem(page).filter({ hasText: /untrusted/ }).waitFor({ timeout: 30000 });
  await wb.touchSaveAndShowProblems(page);
  await page.waitForTimeout(5000);
  const untrustedStatus = await wb.statusText(page);
  console.log('UNTRUSTED STATUS BAR:', untrustedStatus);
  await page.screenshot({ path: `${shotPrefix}-untrusted.png` });
  if (await wb.problemRow(page, line).count()) throw new Error('a Problems row at the printf line in Restricted Mode: the server built');
  if (fs.existsSync(path.join(ws, 'build'))) throw new Error('build/ exists in Restricted Mode: make ran');
  if (!/untrusted/.test(untrustedStatus)) throw new Error('status bar does not say untrusted: ' + untrustedStatus);

  // Grant trust: the extension must restart the server with trusted=true.
  await page.keyboard.press('F1');
  await page.keyboard.type('Manage Workspace Trust');
  await page.waitForTimeout(500);
  await page.keyboard.press('Enter');
  const trust = page.locator('.workspace-trust-editor .monaco-button').filter({ hasText: /^Trust$/ }).first();
  await trust.waitFor({ timeout: 30000 });
  await trust.click();
  console.log('granted trust');
  // the restarted client (trusted=true) is up when the status bar leaves "untrusted"; then save
  // again (a server may build on open too, but only a build on save is asked of it)
  await wb.statusItem(page).filter({ hasText: /natmod .* · (idle|building|ok|errors)$/ }).waitFor({ timeout: 30000 });
  await page.locator('.tabs-container .tab').filter({ hasText: 'printf_nm.c' }).first().click();
  await wb.touchSaveAndShowProblems(page);
  const row = wb.problemRow(page, line);
  await row.waitFor({ timeout: WAIT_MS });
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  console.log('TRUSTED PROBLEMS ROW:', text);
  const trustedStatus = await wb.statusText(page);
  console.log('TRUSTED STATUS BAR:', trustedStatus);
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${shotPrefix}-trusted.png` });
  console.log('SCREENSHOTS:', `${shotPrefix}-untrusted.png`, `${shotPrefix}-trusted.png`);
  if (!/printf/.test(text)) throw new Error('Problems row: ' + text);
  if (!/natmod x64 · mpy 6\.3 · (errors|ok|idle|building)$/.test(trustedStatus)) throw new Error('status bar after trust: ' + JSON.stringify(trustedStatus));
});
