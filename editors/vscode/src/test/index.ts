// The extension's tests (extensionTestsPath): they run INSIDE the real VS Code extension host,
// against the real language server, on a copy of editors/test-fixtures/printf_nm opened as the
// workspace (scripts/editor-tests.sh sets that up). run() rejects when a test fails, which makes
// the test run's exit code non-zero. Prints "N passed, N failed".
//
// Environment (from the process that starts code-server):
//   NATMOD_TEST_TIMEOUT   seconds to wait for the server per step (default 60)
import * as vscode from 'vscode';
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { State } from 'vscode-languageclient/node';
import type { NatmodApi } from '../extension';
import { EXT_ID, TIMEOUT_MS, finish, poll, test } from './harness';

const MODULE = 'printf_nm';

function describe(diags: readonly vscode.Diagnostic[]): string {
  return diags.length ? diags.map((d) => `${d.range.start.line}:${d.range.start.character} ${d.message}`).join(' | ') : 'none';
}

function label(item: vscode.CompletionItem): string {
  return typeof item.label === 'string' ? item.label : item.label.label;
}

/** The 0-based line of the (uncommented) printf call. */
function printfLine(doc: vscode.TextDocument): number {
  for (let i = 0; i < doc.lineCount; i++) {
    const t = doc.lineAt(i).text;
    if (/^\s*printf\(/.test(t)) return i;
  }
  throw new Error(`no printf( line in ${doc.uri.fsPath}: wrong fixture?`);
}

async function replaceLine(doc: vscode.TextDocument, line: number, text: string) {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, doc.lineAt(line).range, text);
  assert.ok(await vscode.workspace.applyEdit(edit), 'applyEdit failed');
}

export async function run(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder: the harness must open the fixture copy as the folder');
  const ws = folder.uri;
  const cUri = vscode.Uri.joinPath(ws, `${MODULE}.c`);
  const mpyPath = path.join(ws.fsPath, `${MODULE}.mpy`);
  console.log(`workspace ${ws.fsPath}; server wait ${TIMEOUT_MS / 1000}s`);

  const ext = vscode.extensions.getExtension<NatmodApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} not loaded`);
  // Opening a C file activates the extension (onLanguage:c); activate() also directly.
  const doc = await vscode.workspace.openTextDocument(cUri);
  await vscode.window.showTextDocument(doc);
  const api = await ext.activate();
  console.log(`server: ${JSON.stringify(api.serverCommand())}`);

  await test('the extension starts the language server', async () => {
    const c = await poll(() => (api.client()?.state === State.Running ? api.client() : undefined), 20000);
    assert.ok(c, `client not running (${api.lastStartError() ?? `state ${api.client()?.state}`})`);
    const info = c.initializeResult?.serverInfo;
    console.log(`    serverInfo: ${info ? `${info.name} ${info.version ?? ''}` : '(none)'}`);
  });

  await test('commands are registered', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['natmod.rebuild', 'natmod.pickArch', 'natmod.runInMicroPython', 'natmod.restartServer']) {
      assert.ok(all.includes(id), `${id} missing`);
    }
  });

  await test('initializationOptions: trusted workspace, natmod.arch and natmod.makeArgs', async () => {
    const opts = api.initializationOptions();
    assert.strictEqual(opts.trusted, true, JSON.stringify(opts));
    assert.strictEqual(opts.arch, 'x64', JSON.stringify(opts));
    assert.ok(Array.isArray(opts.makeArgs) && (opts.makeArgs as string[]).some((a) => a.startsWith('MPY_DIR=')), JSON.stringify(opts));
  });

  const line = printfLine(doc);
  await test(`undefined symbol printf: an error diagnostic on line ${line + 1} after a save`, async () => {
    // Make the document dirty without moving any line, then save: the server builds on didSave.
    await replaceLine(doc, line, doc.lineAt(line).text + ' ');
    assert.ok(await doc.save(), 'save failed');
    const hit = (ds: readonly vscode.Diagnostic[]) => ds.find((d) => /\bprintf\b/.test(d.message));
    const found = await poll(() => hit(vscode.languages.getDiagnostics(cUri)));
    const all = vscode.languages.getDiagnostics(cUri);
    assert.ok(found, `no diagnostic mentioning printf for ${MODULE}.c within ${TIMEOUT_MS / 1000}s; diagnostics: ${describe(all)}`);
    assert.strictEqual(found.range.start.line, line, `printf diagnostic on line ${found.range.start.line + 1}, expected ${line + 1}: ${describe(all)}`);
    assert.strictEqual(found.severity, vscode.DiagnosticSeverity.Error, `severity ${found.severity}`);
    assert.match(found.message, /undefined/i, `message: ${found.message}`);
    console.log(`    diagnostic: ${line}:${found.range.start.character} [${found.source ?? '?'}] ${found.message.split('\n')[0]}`);
  });

  await test('completion offers the natmod API (mp_obj_new_int)', async () => {
    const caps = api.client()?.initializeResult?.capabilities;
    assert.ok(caps?.completionProvider,
      'natmod-lsp does not advertise completionProvider: textDocument/completion (natmod API from dynruntime.h) is not implemented yet');
    // Type "mp_obj_new_" on a new line of the function body, complete there, then undo.
    const at = line + 1;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(cUri, new vscode.Position(at, 0), '    mp_obj_new_\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    try {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider', cUri, new vscode.Position(at, '    mp_obj_new_'.length));
      const labels = (list?.items ?? []).map(label);
      const item = (list?.items ?? []).find((i) => label(i) === 'mp_obj_new_int' || label(i).startsWith('mp_obj_new_int('));
      assert.ok(item, `no mp_obj_new_int among ${labels.length} completion items: ${labels.slice(0, 15).join(', ')}`);
      console.log(`    completion: ${label(item)} (${labels.length} items) ${item.detail ?? ''}`);
    } finally {
      const undo = new vscode.WorkspaceEdit();
      undo.delete(cUri, new vscode.Range(at, 0, at + 1, 0));
      await vscode.workspace.applyEdit(undo);
    }
  });

  await test(`a save that fixes the error rewrites ${MODULE}.mpy (ABI 6.3) and clears the diagnostic`, async () => {
    fs.writeFileSync(mpyPath, 'stale: not written by the server\n');
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(mpyPath, old, old);
    await replaceLine(doc, printfLine(doc), '    mp_printf(&mp_plat_print, "answer(%d)\\n", (int)x);');
    assert.ok(await doc.save(), 'save failed');
    const header = await poll(() => {
      try {
        const b = fs.readFileSync(mpyPath);
        return b.length > 4 && b[0] === 0x4d ? b : undefined;
      } catch { return undefined; }
    });
    assert.ok(header, `${MODULE}.mpy not rewritten within ${TIMEOUT_MS / 1000}s after the save (still ${JSON.stringify(fs.readFileSync(mpyPath, 'utf8').slice(0, 40))})`);
    assert.strictEqual(`${header[1]}.${header[2] & 3}`, '6.3', `.mpy header ${header.subarray(0, 4).toString('hex')}`);
    assert.strictEqual(header[2] >> 2, 2, `.mpy arch ${header[2] >> 2}, expected 2 (x64)`);
    const left = await poll(() => {
      const ds = vscode.languages.getDiagnostics(cUri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
      return ds.length === 0 ? [] : undefined;
    }, Math.min(15000, TIMEOUT_MS));
    assert.ok(left, `errors left after the fix: ${describe(vscode.languages.getDiagnostics(cUri))}`);
    console.log(`    ${MODULE}.mpy: ${header.length} bytes, header ${header.subarray(0, 4).toString('hex')}`);
  });

  await test('status bar: arch, .mpy ABI 6.3 and build state', async () => {
    const text = await poll(() => (/ · ok$/.test(api.statusText()) ? api.statusText() : undefined), Math.min(10000, TIMEOUT_MS));
    assert.ok(text, `status bar says "${api.statusText()}", expected state ok`);
    assert.match(text, /natmod x64 · mpy 6\.3 · ok/);
    console.log(`    status: ${text} (natmod/status from server: ${api.status().fromServer})`);
  });

  const readMpy = () => {
    try {
      const b = fs.readFileSync(mpyPath);
      return b.length > 4 && b[0] === 0x4d ? b : undefined;
    } catch { return undefined; }
  };

  await test(`natmod.rebuild recreates a deleted ${MODULE}.mpy`, async () => {
    fs.rmSync(mpyPath, { force: true });
    await vscode.commands.executeCommand('natmod.rebuild');
    assert.ok(await poll(readMpy), `${MODULE}.mpy not rebuilt within ${TIMEOUT_MS / 1000}s of natmod.rebuild`);
  });

  await test('natmod.doctor runs natmod-lsp doctor for the project: make, MPY_DIR and x64 found', async () => {
    const r = await vscode.commands.executeCommand<{ exitCode: number; stdout: string }>('natmod.doctor');
    assert.ok(r, 'no result from natmod.doctor');
    assert.ok(r.exitCode === 0 || r.exitCode === 1, `doctor exit ${r.exitCode}: ${r.stdout}`);
    assert.match(r.stdout, /^MPY_DIR +\S+ \(MicroPython /m, r.stdout);
    assert.match(r.stdout, /^x64 +/m, r.stdout);
    assert.match(r.stdout, /GNU Make/, r.stdout);
  });

  await test('natmod.runInMicroPython opens a micropython terminal for the module', async () => {
    await vscode.commands.executeCommand('natmod.runInMicroPython');
    const term = await poll(() => vscode.window.terminals.find((t) => t.name === `micropython: ${MODULE}`), Math.min(10000, TIMEOUT_MS));
    assert.ok(term, `no "micropython: ${MODULE}" terminal; terminals: ${vscode.window.terminals.map((t) => t.name).join(', ') || 'none'}`);
    term.dispose();
  });

  await test('natmod.runInMicroPython runs a .py through the server; it imports the .mpy (x64)', async () => {
    const commands = api.client()?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    assert.ok(commands.includes('natmod.runInMicroPython'),
      `natmod-lsp does not offer the workspace/executeCommand natmod.runInMicroPython (it offers: ${commands.join(', ') || 'none'})`);
    const py = vscode.Uri.joinPath(ws, 'try_it.py');
    fs.writeFileSync(py.fsPath, `import ${MODULE}\nprint(${MODULE}.answer(1))\n`);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(py));
    try {
      const r = await vscode.commands.executeCommand<{ exitCode?: number; stdout?: string; stderr?: string }>('natmod.runInMicroPython');
      assert.ok(r, 'no result from the server');
      assert.strictEqual(r.exitCode, 0, `micropython exit ${r.exitCode}: ${r.stdout ?? ''}${r.stderr ?? ''}`);
      assert.match(r.stdout ?? '', /^43$/m, `stdout: ${JSON.stringify(r.stdout)}`);
      console.log(`    micropython: ${JSON.stringify(r.stdout)}`);
    } finally {
      await vscode.window.showTextDocument(doc);
    }
  });

  await test('natmod.arch = armv6m restarts the server with arch armv6m; natmod.rebuild then writes an armv6m .mpy', async () => {
    const before = api.client();
    await vscode.workspace.getConfiguration('natmod').update('arch', 'armv6m', vscode.ConfigurationTarget.Workspace);
    try {
      const c = await poll(() => {
        const now = api.client();
        return now && now !== before && now.state === State.Running ? now : undefined;
      }, 20000);
      assert.ok(c, `no restarted client after the natmod.arch change (${api.lastStartError() ?? 'no start error'})`);
      assert.strictEqual(api.initializationOptions().arch, 'armv6m');
      fs.rmSync(mpyPath, { force: true });
      await vscode.commands.executeCommand('natmod.rebuild');
      const b = await poll(readMpy);
      assert.ok(b, `${MODULE}.mpy not rebuilt for armv6m within ${TIMEOUT_MS / 1000}s`);
      assert.strictEqual(b[2] >> 2, 4, `.mpy arch code ${b[2] >> 2}, expected 4 (armv6m)`);
      assert.match(api.statusText(), /natmod armv6m · mpy 6\.3/);
    } finally {
      await vscode.workspace.getConfiguration('natmod').update('arch', 'x64', vscode.ConfigurationTarget.Workspace);
    }
  });

  finish();
}
