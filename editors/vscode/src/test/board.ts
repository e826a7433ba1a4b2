// The extension's board tests (extensionTestsPath), INSIDE the real VS Code extension host,
// against the real language server and an emulated MicroPython board (QEMU MPS2_AN385, a
// Cortex-M3: the board loads armv6m/armv7m modules) on a pty. The workspace is a copy of
// examples/factorial with natmod.arch = armv7m (scripts/editor-tests.sh sets it up, starts the
// board and passes its pty). run() rejects when a test fails; prints "N passed, N failed".
//
// Environment (from the process that starts code-server):
//   NATMOD_TEST_BOARD_PORT   the board's pty (required)
//   NATMOD_TEST_TIMEOUT      seconds to wait for the server per step (default 60)
import * as vscode from 'vscode';
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { State } from 'vscode-languageclient/node';
import type { NatmodApi } from '../extension';
import { EXT_ID, TIMEOUT_MS, finish, poll, test } from './harness';

const MODULE = 'factorial_nm';
const FACTORIAL_20 = '2432902008176640000';
/** .mpy header arch codes (byte 2 >> 2). */
const ARMV7M = 5, ARMV7EMSP = 7;

export async function run(): Promise<void> {
  const port = process.env.NATMOD_TEST_BOARD_PORT;
  assert.ok(port, 'NATMOD_TEST_BOARD_PORT is not set: scripts/editor-tests.sh starts the emulated board and sets it');
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder: the harness must open the examples/factorial copy as the folder');
  const ws = folder.uri;
  const cUri = vscode.Uri.joinPath(ws, 'factorial.c');
  const mpyPath = path.join(ws.fsPath, `${MODULE}.mpy`);
  const makefile = vscode.Uri.joinPath(ws, 'Makefile');
  console.log(`workspace ${ws.fsPath}; board on ${port}; server wait ${TIMEOUT_MS / 1000}s`);
  const builtFor = (arch: number) => {
    try {
      const b = fs.readFileSync(mpyPath);
      return b.length > 4 && b[0] === 0x4d && b[2] >> 2 === arch ? b : undefined;
    } catch { return undefined; }
  };

  const ext = vscode.extensions.getExtension<NatmodApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} not loaded`);
  const doc = await vscode.workspace.openTextDocument(cUri);
  await vscode.window.showTextDocument(doc);
  const api = await ext.activate();

  await test('the server runs and natmod.rebuild writes an armv7m .mpy', async () => {
    const c = await poll(() => (api.client()?.state === State.Running ? api.client() : undefined), 20000);
    assert.ok(c, `client not running (${api.lastStartError() ?? `state ${api.client()?.state}`})`);
    fs.rmSync(mpyPath, { force: true });
    await vscode.commands.executeCommand('natmod.rebuild');
    assert.ok(await poll(() => builtFor(ARMV7M)), `${MODULE}.mpy (armv7m) not built within ${TIMEOUT_MS / 1000}s`);
  });

  await test('the board commands are registered', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['natmod.boardPick', 'natmod.boardInfo', 'natmod.boardCheck', 'natmod.boardRun', 'natmod.boardDeploy']) {
      assert.ok(all.includes(id), `${id} missing`);
    }
  });

  await test('natmod.boardPick PORT reads the board: the status bar shows "qemu · armv7em · mpy 6.3"', async () => {
    assert.strictEqual(api.boardStatusText(), '', `a board shown before any pick: ${api.boardStatusText()}`);
    await vscode.commands.executeCommand('natmod.boardPick', port);
    assert.strictEqual(api.boardPort(), port);
    assert.strictEqual(api.boardStatusText(), '$(plug) qemu · armv7em · mpy 6.3');
    console.log(`    status bar: ${api.boardStatusText()}`);
  });

  await test('natmod.boardCheck: the armv7m module loads; no diagnostic on the Makefile', async () => {
    const r = await vscode.commands.executeCommand<{ ok: boolean; check: { arch: string } }>('natmod.boardCheck');
    assert.ok(r, 'no result (see the "natmod board" output)');
    assert.strictEqual(r.ok, true, JSON.stringify(r));
    assert.strictEqual(r.check.arch, 'armv7m', JSON.stringify(r));
    assert.strictEqual(vscode.languages.getDiagnostics(makefile).length, 0);
  });

  const py = vscode.Uri.joinPath(ws, 'try_board.py');
  await test('natmod.boardRun runs the current .py on the board: it prints factorial(20)', async () => {
    fs.writeFileSync(py.fsPath, `import ${MODULE}\nprint(${MODULE}.factorial(20))\n`);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(py));
    try {
      const r = await vscode.commands.executeCommand<{ ok: boolean; run: { output: string; error?: string; firstOutputMs?: number } }>('natmod.boardRun');
      assert.ok(r, 'no result (see the "natmod board" output)');
      assert.strictEqual(r.ok, true, JSON.stringify(r));
      assert.strictEqual(r.run.output, `${FACTORIAL_20}\n`, JSON.stringify(r));
      console.log(`    board printed ${JSON.stringify(r.run.output)} (first output after ${r.run.firstOutputMs} ms)`);
    } finally {
      await vscode.window.showTextDocument(doc);
    }
  });

  await test('natmod.boardRun without a .py imports the module and runs the given code', async () => {
    const r = await vscode.commands.executeCommand<{ ok: boolean; run: { output: string } }>('natmod.boardRun',
      { code: `print(${MODULE}.fib(90))` });
    assert.ok(r, 'no result');
    assert.strictEqual(r.run.output, '2880067194370816120\n', JSON.stringify(r));
  });

  await test('natmod.arch = armv7emsp: natmod.boardCheck puts the mismatch on the Makefile\'s ARCH line', async () => {
    const before = api.client();
    await vscode.workspace.getConfiguration('natmod').update('arch', 'armv7emsp', vscode.ConfigurationTarget.Workspace);
    try {
      const c = await poll(() => {
        const now = api.client();
        return now && now !== before && now.state === State.Running ? now : undefined;
      }, 20000);
      assert.ok(c, 'no restarted client after the natmod.arch change');
      fs.rmSync(mpyPath, { force: true });
      await vscode.commands.executeCommand('natmod.rebuild');
      assert.ok(await poll(() => builtFor(ARMV7EMSP)), `${MODULE}.mpy (armv7emsp) not built within ${TIMEOUT_MS / 1000}s`);
      const r = await vscode.commands.executeCommand<{ ok: boolean }>('natmod.boardCheck');
      assert.ok(r && r.ok === false, `check says ${JSON.stringify(r)}`);
      const arch = (await vscode.workspace.openTextDocument(makefile)).getText().split('\n').findIndex((l) => /^ARCH\s*\?=/.test(l));
      const ds = vscode.languages.getDiagnostics(makefile);
      assert.strictEqual(ds.length, 1, ds.map((d) => d.message).join(' | '));
      assert.strictEqual(ds[0].range.start.line, arch, `diagnostic on line ${ds[0].range.start.line + 1}, ARCH is on ${arch + 1}`);
      assert.strictEqual(ds[0].severity, vscode.DiagnosticSeverity.Error);
      assert.match(ds[0].message, /ARCH = armv7m/, ds[0].message);
      console.log(`    Makefile:${arch + 1}: ${ds[0].message}`);
    } finally {
      await vscode.workspace.getConfiguration('natmod').update('arch', 'armv7m', vscode.ConfigurationTarget.Workspace);
    }
  });

  finish();
}
