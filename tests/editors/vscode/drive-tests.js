// Run an extension's tests (extensionDevelopmentPath + extensionTestsPath) inside the real remote
// extension host of code-server, the way VS Code's own web integration tests do: the `payload`
// URL parameter, and window.codeAutomationExit / codeAutomationLog exposed by the page.
// Usage: node drive-tests.js <serverUrl> <workspaceDir> <extensionDir> <testsEntry.js>
// env NATMOD_NODE_TOOLS: the directory whose node_modules has playwright-core.
const path = require('path');
const { launch } = require('./workbench');
const [server, wsDir, extDir, testsPath] = process.argv.slice(2);
const host = new URL(server).host;
const remote = (p) => `vscode-remote://${host}${path.resolve(p)}`;
const LIMIT_MS = Number(process.env.NATMOD_DRIVE_TIMEOUT || 300) * 1000;

(async () => {
  const browser = await launch();
  const page = await browser.newPage();
  let exitCode = null;
  const done = new Promise((res) => page.exposeFunction('codeAutomationExit', (code) => { exitCode = code; res(); }));
  await page.exposeFunction('codeAutomationLog', (type, args) => (console[type] || console.log)(...args));
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  const payload = JSON.stringify([['extensionDevelopmentPath', remote(extDir)], ['extensionTestsPath', remote(testsPath)],
                                  ['skipWelcome', 'true']]);
  await page.goto(`${server}/?folder=${encodeURIComponent(path.resolve(wsDir))}&payload=${encodeURIComponent(payload)}`);
  const timeout = new Promise((res) => setTimeout(() => res('timeout'), LIMIT_MS));
  if (await Promise.race([done, timeout]) === 'timeout') {
    console.error(`FAIL: no codeAutomationExit within ${LIMIT_MS / 1000}s (extension tests hung or never started)`);
    exitCode = 124;
  }
  await browser.close().catch(() => {});
  console.log('extension tests exit code:', exitCode);
  process.exit(exitCode === 0 ? 0 : 1);
})().catch((e) => { console.error('FAIL: driver:', e && e.stack || e); process.exit(1); });
