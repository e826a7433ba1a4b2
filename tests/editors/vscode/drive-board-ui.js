// UI check in code-server with the installed .vsix and an emulated board on a pty: open
// factorial.c, save (the server builds the armv7m .mpy), then through the Command Palette as a
// user would: "Natmod: Board: pick the serial port" → "Another path…" → the pty; the board's
// status bar item must show "qemu · armv7em · mpy 6.3". Then open try_board.py and run
// "Natmod: Board: run the current .py": the "natmod board" output must show factorial(20).
// Usage: node drive-board-ui.js <url> <workspace> <pty> <screenshot-prefix>
// env NATMOD_NODE_TOOLS (playwright-core), NATMOD_TEST_TIMEOUT (s)
const fs = require('fs');
const path = require('path');
const wb = require('./workbench');
const [url, wsDir, pty, shots] = process.argv.slice(2);
const WAIT_MS = Number(process.env.NATMOD_TEST_TIMEOUT || 60) * 1000;
const FACTORIAL_20 = '2432902008176640000';

/** Runs a command from the Command Palette by its title. */
async function palette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press('Enter');
}

/** The .mpy's arch code (header byte 2 >> 2), undefined until there is one. */
function mpyArch() {
  try {
    const b = fs.readFileSync(path.join(wsDir, 'factorial_nm.mpy'));
    return b.length > 4 && b[0] === 0x4d ? b[2] >> 2 : undefined;
  } catch { return undefined; }
}

wb.check(url, `${shots}-failure.png`, async (page) => {
  await wb.openFromExplorer(page, 'factorial.c');
  await wb.statusItem(page).filter({ hasText: /natmod .* · (idle|building|ok|errors)/ }).waitFor({ timeout: 30000 });
  await wb.touchSaveAndShowProblems(page);
  for (const end = Date.now() + WAIT_MS; mpyArch() !== 5; await page.waitForTimeout(200)) {
    if (Date.now() > end) throw new Error(`no armv7m factorial_nm.mpy within ${WAIT_MS / 1000}s of the save (arch ${mpyArch()})`);
  }

  await palette(page, 'Natmod: Board: pick the serial port');
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'Another path' }).first().click({ timeout: 20000 });
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10000 });
  await input.fill(pty);
  await page.keyboard.press('Enter');
  const board = page.locator('.statusbar-item').filter({ hasText: /qemu · armv7em · mpy 6\.3/ }).first();
  await board.waitFor({ timeout: WAIT_MS });
  console.log('BOARD STATUS BAR:', (await board.innerText()).replace(/\s+/g, ' ').trim());
  await page.screenshot({ path: `${shots}-status.png` });

  await wb.openFromExplorer(page, 'try_board.py');
  await palette(page, 'Natmod: Board: run the current .py');
  const printed = page.locator('.part.panel .view-lines').filter({ hasText: FACTORIAL_20 }).first();
  await printed.waitFor({ timeout: WAIT_MS });
  console.log('OUTPUT PANEL:', (await printed.innerText()).replace(/\s+/g, ' ').trim());
  await page.screenshot({ path: `${shots}-run.png` });
  console.log('SCREENSHOTS:', `${shots}-status.png`, `${shots}-run.png`);
});
