// VS Code client for natmod-lsp, the language server for MicroPython native modules (natmods).
//
// The server does the work (evaluates the Makefile, compiles on save, links with natmod-ld,
// publishes diagnostics, completes the natmod API). This extension starts it, passes the
// settings and the workspace's trust as initializationOptions, shows a status bar item and
// offers a few commands. Nothing here runs make or a compiler itself.
import * as vscode from 'vscode';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  DidSaveTextDocumentNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import * as board from './board';

export const ARCHS = ['x86', 'x64', 'armv6m', 'armv7m', 'armv7emsp', 'armv7emdp', 'xtensa', 'xtensawin', 'rv32imc', 'rv64imc'];
/** The .mpy ABI the natmods are built for (MicroPython >= 1.23 writes version 6, sub-version 3). */
export const DEFAULT_MPY_ABI = '6.3';
/** Settings passed to the server at start-up: a change restarts it. */
const RESTART_SETTINGS = ['natmod.serverPath', 'natmod.arch', 'natmod.makeArgs', 'natmod.portabilityArchs'];

/** Build state shown in the status bar. */
export type BuildState = 'starting' | 'idle' | 'building' | 'ok' | 'errors' | 'untrusted' | 'stopped' | 'failed';

/**
 * Optional `natmod/status` notification from the server. Every field is optional; the client
 * falls back to what it can see itself (saves, diagnostics, .mpy files) when it never arrives.
 */
export interface StatusParams {
  state?: string;          // "building" | "ok" | "error(s)" | "idle" | "untrusted" | ...
  arch?: string;           // the ARCH the project builds for
  mpyVersion?: string;     // .mpy ABI, e.g. "6.3"
  module?: string;         // MOD
  message?: string;        // free text for the tooltip
  errors?: number;         // errors of the last build (natmod-lsp sends this, not `state`)
  linked?: boolean;        // whether the last build wrote the .mpy
}

/** What the extension returns from activate(): used by its tests and by other extensions. */
export interface NatmodApi {
  client(): LanguageClient | undefined;
  statusText(): string;
  status(): { state: BuildState; arch?: string; mpyAbi: string; fromServer: boolean };
  serverCommand(): { command: string; source: string };
  initializationOptions(): Record<string, unknown>;
  restart(): Promise<void>;
  lastStartError(): string | undefined;
  /** The text of the board's status bar item ('' while no board is picked: hidden). */
  boardStatusText(): string;
  /** The picked board's port, if any. */
  boardPort(): string | undefined;
}

let ctx: vscode.ExtensionContext;
let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let traceOutput: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let startError: string | undefined;
let restarting: Promise<void> | undefined;
const status: { state: BuildState; arch?: string; mpyAbi: string; fromServer: boolean; detail?: string; module?: string } =
  { state: 'starting', mpyAbi: DEFAULT_MPY_ABI, fromServer: false };

function cfg() { return vscode.workspace.getConfiguration('natmod'); }
function log(msg: string) { output?.appendLine(`[client ${new Date().toISOString().slice(11, 23)}] ${msg}`); }

// ------------------------------------------------------------------------------ server binary
function expandPath(p: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  p = p.replace(/\$\{workspaceFolder\}/g, folder ?? '').replace(/\$\{userHome\}/g, os.homedir());
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  if (!path.isAbsolute(p) && p.includes('/') && folder) p = path.join(folder, p);
  return p;
}

/** natmod.serverPath, else the binary bundled in the extension (bin/natmod-lsp), else PATH. */
export function resolveServer(extensionPath: string): { command: string; source: string } {
  const configured = (cfg().get<string>('serverPath') ?? '').trim();
  if (configured) return { command: expandPath(configured), source: 'natmod.serverPath' };
  const bundled = path.join(extensionPath, 'bin', process.platform === 'win32' ? 'natmod-lsp.exe' : 'natmod-lsp');
  if (fs.existsSync(bundled)) return { command: bundled, source: 'bundled' };
  return { command: 'natmod-lsp', source: 'PATH' };
}

/** The NAME=value entries of makeArgs as {NAME: value} (flags such as -j4 are left out). */
export function makeVariables(args: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const a of args) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/s.exec(a);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

function initializationOptions(): Record<string, unknown> {
  const c = cfg();
  const opts: Record<string, unknown> = { trusted: vscode.workspace.isTrusted };
  const arch = (c.get<string>('arch') ?? '').trim();
  if (arch) opts.arch = arch;
  const makeArgs = c.get<string[]>('makeArgs') ?? [];
  if (makeArgs.length) {
    opts.makeArgs = makeArgs;
    // The same NAME=value overrides as an object (the form natmod-lsp's config reads).
    const vars = makeVariables(makeArgs);
    if (Object.keys(vars).length) opts.makeVariables = vars;
  }
  const portability = c.get<string[]>('portabilityArchs') ?? [];
  if (portability.length) opts.portabilityArchs = portability;
  return opts;
}

// ------------------------------------------------------------------------------ client
async function startClient(): Promise<void> {
  const server = resolveServer(ctx.extensionPath);
  const init = initializationOptions();
  log(`starting ${server.command} (from ${server.source}); initializationOptions ${JSON.stringify(init)}`);
  const run = { command: server.command, args: [] as string[], transport: TransportKind.stdio };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'c' }, { scheme: 'file', language: 'makefile' }],
    initializationOptions: init,
    outputChannel: output,
    traceOutputChannel: traceOutput,
    synchronize: {
      configurationSection: 'natmod',
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{Makefile,makefile,GNUmakefile,*.mk,*.h}'),
    },
    // A failing server should not pop a dialog per request; the status bar and log tell.
    connectionOptions: { maxRestartCount: 4 },
  };
  const c = new LanguageClient('natmod', 'natmod-lsp', serverOptions, clientOptions);
  keepOwnCommands(c);
  client = c;
  startError = undefined;
  setStatus({ state: 'starting', fromServer: false });
  c.onDidChangeState((e) => {
    if (e.newState === State.Stopped && client === c) setStatus({ state: startError ? 'failed' : 'stopped' });
  });
  try {
    await c.start();
  } catch (e) {
    startError = `could not start ${server.command} (from ${server.source}): ${e instanceof Error ? e.message : String(e)}`;
    log(startError);
    setStatus({ state: 'failed' });
    void vscode.window.showErrorMessage(`natmod-lsp: ${startError}`, 'Open Settings', 'Show Log').then((pick) => {
      if (pick === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'natmod.serverPath');
      if (pick === 'Show Log') output.show(true);
    });
    return;
  }
  const info = c.initializeResult?.serverInfo;
  log(`server running: ${info ? `${info.name} ${info.version ?? ''}` : 'no serverInfo'}`);
  c.onNotification('natmod/status', (p: StatusParams) => onServerStatus(p ?? {}));
  setStatus({ state: vscode.workspace.isTrusted ? 'idle' : 'untrusted' });
}

/** The commands this extension registers itself (some share their name with a server command). */
const OWN_COMMANDS = new Set(['natmod.rebuild', 'natmod.pickArch', 'natmod.runInMicroPython', 'natmod.restartServer',
  'natmod.showOutput', 'natmod.statusMenu', ...board.COMMANDS]);

/**
 * vscode-languageclient registers a VS Code command for every command in the server's
 * executeCommandProvider; one named like ours (natmod-lsp has `natmod.runInMicroPython`) would
 * throw "command already exists" and the client would not start. Leave those to us: our
 * command calls the server's through workspace/executeCommand itself.
 */
function keepOwnCommands(c: LanguageClient) {
  type Registration = { id: string; registerOptions: { commands?: string[] } };
  const feature = (c as unknown as { getFeature(method: string): { register(data: Registration): void } | undefined })
    .getFeature(ExecuteCommandRequest.method);
  if (!feature) return;
  const register = feature.register.bind(feature);
  feature.register = (data: Registration) => register({
    ...data,
    registerOptions: { ...data.registerOptions, commands: (data.registerOptions.commands ?? []).filter((x) => !OWN_COMMANDS.has(x)) },
  });
}

function serverCommands(c: LanguageClient | undefined): string[] {
  return c?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  if (!c) return;
  try {
    if (c.state !== State.Stopped) await c.stop(5000);
  } catch (e) {
    log(`stop: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function restart(): Promise<void> {
  if (restarting) return restarting;
  restarting = (async () => { await stopClient(); await startClient(); })().finally(() => { restarting = undefined; });
  return restarting;
}

// ------------------------------------------------------------------------------ status bar
function normaliseState(s: string | undefined): BuildState | undefined {
  switch ((s ?? '').toLowerCase()) {
    case 'building': case 'compiling': case 'linking': return 'building';
    case 'ok': case 'built': case 'success': case 'done': return 'ok';
    case 'error': case 'errors': case 'failed': return 'errors';
    case 'idle': case 'ready': return 'idle';
    case 'untrusted': return 'untrusted';
    default: return undefined;
  }
}

function onServerStatus(p: StatusParams) {
  // natmod-lsp sends no `state`, but the build's `errors` count (and `linked`)
  const state = normaliseState(p.state)
    ?? (typeof p.errors === 'number' ? (p.errors > 0 ? 'errors' : 'ok') : undefined);
  setStatus({
    fromServer: true,
    ...(state ? { state } : {}),
    ...(p.arch ? { arch: p.arch } : {}),
    ...(p.mpyVersion ? { mpyAbi: p.mpyVersion } : {}),
    ...(p.module ? { module: p.module } : {}),
    detail: p.message ?? (typeof p.errors === 'number' ? `${p.errors} error(s)` : undefined),
  });
}

function setStatus(patch: Partial<typeof status>) {
  Object.assign(status, patch);
  if (!statusItem) return;
  statusItem.text = statusText();
  const lines = [
    `natmod-lsp: ${status.state}${status.detail ? ` (${status.detail})` : ''}`,
    `ARCH: ${shownArch()}${cfg().get<string>('arch') ? ' (natmod.arch)' : ''}`,
    `.mpy ABI: ${status.mpyAbi}`,
  ];
  if (status.module) lines.push(`module: ${status.module}`);
  if (startError) lines.push(startError);
  lines.push('', 'Click for natmod actions');
  statusItem.tooltip = lines.join('\n');
  statusItem.backgroundColor = status.state === 'errors' || status.state === 'failed'
    ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
}

function shownArch(): string {
  return (cfg().get<string>('arch') || status.arch || 'Makefile ARCH').trim();
}

function statusText(): string {
  const icon: Record<BuildState, string> = {
    starting: '$(sync~spin)', idle: '$(circuit-board)', building: '$(sync~spin)', ok: '$(check)',
    errors: '$(error)', untrusted: '$(shield)', stopped: '$(debug-stop)', failed: '$(warning)',
  };
  return `${icon[status.state]} natmod ${shownArch()} · mpy ${status.mpyAbi} · ${status.state}`;
}

/** A save starts a build; without natmod/status, the outcome comes from diagnostics and .mpy files. */
function trackBuildsWithoutServerStatus() {
  ctx.subscriptions.push(vscode.workspace.onDidSaveTextDocument((doc) => {
    if (!client || client.state !== State.Running) return;
    if (doc.languageId === 'c' || doc.languageId === 'makefile') {
      setStatus({ state: vscode.workspace.isTrusted ? 'building' : 'untrusted' });
    }
  }));
  ctx.subscriptions.push(vscode.languages.onDidChangeDiagnostics(() => {
    if (status.fromServer || !client?.diagnostics) return;
    let errors = 0;
    client.diagnostics.forEach((_uri, diags) => {
      errors += diags.filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length;
    });
    if (errors) setStatus({ state: 'errors', detail: `${errors} error(s)` });
    else if (status.state === 'errors' || status.state === 'building') setStatus({ state: 'ok', detail: undefined });
  }));
  const mpy = vscode.workspace.createFileSystemWatcher('**/*.mpy');
  const built = (uri: vscode.Uri) => {
    // Only a real .mpy ("M" header) written while a build is under way counts.
    if (status.fromServer || status.state !== 'building') return;
    try {
      const fd = fs.openSync(uri.fsPath, 'r');
      const head = Buffer.alloc(1);
      fs.readSync(fd, head, 0, 1, 0);
      fs.closeSync(fd);
      if (head[0] !== 0x4d) return;
    } catch { return; }
    setStatus({ state: 'ok', module: path.basename(uri.fsPath, '.mpy'), detail: `wrote ${path.basename(uri.fsPath)}` });
  };
  mpy.onDidCreate(built); mpy.onDidChange(built);
  ctx.subscriptions.push(mpy);
}

// ------------------------------------------------------------------------------ doctor
/** `natmod-lsp doctor` for the active file's project (else the first workspace folder): what the
 * build needs, arch by arch, in the output channel. Returns the exit code and the text. */
async function doctor(extensionPath: string): Promise<{ exitCode: number; stdout: string }> {
  const file = vscode.window.activeTextEditor?.document.uri;
  const dir = (file?.scheme === 'file' ? projectDirOf(file.fsPath) : undefined)
    ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!dir) {
    void vscode.window.showWarningMessage('natmod: open a natmod project first');
    return { exitCode: 2, stdout: '' };
  }
  const args = ['doctor', dir];
  for (const a of cfg().get<string[]>('makeArgs') ?? []) args.push('--var', a);
  const server = resolveServer(extensionPath).command;
  const r = await new Promise<{ exitCode: number; stdout: string }>((resolve) => {
    cp.execFile(server, args, { timeout: 120000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 2) : 0;
      resolve({ exitCode: code, stdout: `${stdout}${stderr}` });
    });
  });
  output.appendLine(`$ ${server} ${args.join(' ')}`);
  output.appendLine(r.stdout.trimEnd());
  output.appendLine(`(exit ${r.exitCode}: ${['every arch can build', 'some arches can build', 'the project cannot build'][r.exitCode] ?? 'failed'})`);
  output.show(true);
  return r;
}

// ------------------------------------------------------------------------------ projects
/** The natmod project directory of a file: the nearest Makefile upwards that includes dynruntime.mk. */
function projectDirOf(file: string): string | undefined {
  const top = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))?.uri.fsPath;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    for (const name of ['GNUmakefile', 'makefile', 'Makefile']) {
      try {
        if (fs.readFileSync(path.join(dir, name), 'utf8').includes('dynruntime.mk')) return dir;
      } catch { /* no such file */ }
    }
    if (dir === top || path.dirname(dir) === dir) return undefined;
  }
}

async function findProjectDir(): Promise<string | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active?.uri.scheme === 'file') {
    const dir = projectDirOf(active.uri.fsPath);
    if (dir) return dir;
  }
  const makefiles = await vscode.workspace.findFiles('**/{Makefile,makefile,GNUmakefile}', '**/node_modules/**', 200);
  const dirs = makefiles.map((u) => u.fsPath)
    .filter((f) => { try { return fs.readFileSync(f, 'utf8').includes('dynruntime.mk'); } catch { return false; } })
    .map((f) => path.dirname(f)).sort();
  if (dirs.length <= 1) return dirs[0];
  return vscode.window.showQuickPick(dirs, { placeHolder: 'Which natmod project?' });
}

// ------------------------------------------------------------------------------ commands
async function rebuild(): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('natmod-lsp builds nothing in an untrusted workspace. Trust it to build.', 'Manage Trust')
      .then((p) => { if (p) void vscode.commands.executeCommand('workbench.trust.manage'); });
    return;
  }
  if (!client || client.state !== State.Running) await restart();
  const c = client;
  if (!c || c.state !== State.Running) return;
  const dir = await findProjectDir();
  // A server-side command (workspace/executeCommand) if the server offers one...
  const serverRebuild = serverCommands(c).find((name) => /rebuild$/i.test(name));
  if (serverRebuild) {
    log(`rebuild: workspace/executeCommand ${serverRebuild} ${dir ?? ''}`);
    setStatus({ state: 'building' });
    await c.sendRequest(ExecuteCommandRequest.type, { command: serverRebuild, arguments: dir ? [vscode.Uri.file(dir).toString()] : [] });
    return;
  }
  // ...else what a save does: didSave of a C file of the project (the server rebuilds on save).
  let doc = vscode.window.activeTextEditor?.document;
  if (!doc || !['c', 'makefile'].includes(doc.languageId) || (dir && projectDirOf(doc.uri.fsPath) !== dir)) {
    doc = vscode.workspace.textDocuments.find((d) => d.languageId === 'c' && (!dir || projectDirOf(d.uri.fsPath) === dir));
    if (!doc && dir) {
      const cfiles = await vscode.workspace.findFiles(new vscode.RelativePattern(dir, '*.c'), undefined, 1);
      if (cfiles[0]) doc = await vscode.workspace.openTextDocument(cfiles[0]);
    }
  }
  if (!doc) { void vscode.window.showWarningMessage('natmod: no natmod project (a Makefile including dynruntime.mk) found.'); return; }
  log(`rebuild: didSave ${doc.uri.fsPath}`);
  setStatus({ state: 'building' });
  if (doc.isDirty) await doc.save();
  else await c.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri: c.code2ProtocolConverter.asUri(doc.uri) } });
}

async function pickArch(): Promise<void> {
  const current = cfg().get<string>('arch') ?? '';
  const items: (vscode.QuickPickItem & { arch: string })[] = [
    { label: "Makefile's ARCH", description: current ? '' : 'current', detail: 'no ARCH= override', arch: '' },
    ...ARCHS.map((a) => ({ label: a, description: a === current ? 'current' : '', arch: a })),
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Target architecture for the .mpy (ARCH=)' });
  if (!pick) return;
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await cfg().update('arch', pick.arch || undefined, target); // the change listener restarts the server
}

function shellQuote(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }

/**
 * With a .py file in the editor: run it in the unix micropython with the project's .mpy
 * importable (through the server's natmod.runInMicroPython when it has one, output in the log;
 * else in a terminal). Otherwise: a micropython REPL in a terminal with the module imported.
 * Returns the server's result ({exitCode, stdout, stderr, timedOut}) when the server ran it.
 */
async function runInMicroPython(): Promise<unknown> {
  const arch = cfg().get<string>('arch') || status.arch;
  if (arch && arch !== 'x64') {
    void vscode.window.showErrorMessage(`The unix micropython runs x64 modules; this project builds for ${arch}.`, 'Pick Architecture')
      .then((p) => { if (p) void vscode.commands.executeCommand('natmod.pickArch'); });
    return;
  }
  const active = vscode.window.activeTextEditor?.document;
  const script = active?.uri.scheme === 'file' && active.uri.fsPath.endsWith('.py') ? active : undefined;
  if (script?.isDirty) await script.save();
  if (script && client?.state === State.Running && serverCommands(client).includes('natmod.runInMicroPython')) {
    log(`run in micropython (server): ${script.uri.fsPath}`);
    const result = await client.sendRequest(ExecuteCommandRequest.type,
      { command: 'natmod.runInMicroPython', arguments: [{ script: script.uri.fsPath }] }) as
      { exitCode?: number | null; stdout?: string; stderr?: string; timedOut?: boolean } | null;
    output.appendLine(`--- micropython ${path.basename(script.uri.fsPath)}: exit ${result?.timedOut ? 'timed out' : result?.exitCode}`);
    output.append((result?.stdout ?? '') + (result?.stderr ?? ''));
    output.show(true);
    return result;
  }
  const dir = script ? projectDirOf(script.uri.fsPath) ?? path.dirname(script.uri.fsPath) : await findProjectDir();
  if (!dir) { void vscode.window.showWarningMessage('natmod: no natmod project (a Makefile including dynruntime.mk) found.'); return; }
  const mpys = fs.readdirSync(dir).filter((f) => f.endsWith('.mpy')).sort();
  if (!mpys.length) {
    void vscode.window.showWarningMessage(`natmod: no .mpy in ${dir} yet: save a C file (or rebuild) first.`, 'Rebuild')
      .then((p) => { if (p) void vscode.commands.executeCommand('natmod.rebuild'); });
    return;
  }
  const mod = path.basename(mpys[0], '.mpy');
  const mp = expandPath(cfg().get<string>('micropythonPath') || 'micropython');
  const term = vscode.window.createTerminal({ name: `micropython: ${mod}`, cwd: dir, env: { MICROPYPATH: dir } });
  term.show();
  if (script) term.sendText(`${shellQuote(mp)} ${shellQuote(script.uri.fsPath)}`);
  else term.sendText(`${shellQuote(mp)} -i -c ${shellQuote(`import ${mod}; print('imported', ${mod})`)}`);
  return undefined;
}

async function statusMenu(): Promise<void> {
  const items = [
    { label: '$(refresh) Rebuild module', command: 'natmod.rebuild' },
    { label: '$(circuit-board) Pick target architecture', command: 'natmod.pickArch' },
    { label: '$(play) Run module in MicroPython (x64)', command: 'natmod.runInMicroPython' },
    { label: '$(plug) Board: pick a port', command: 'natmod.boardPick' },
    { label: '$(play-circle) Board: run the current .py (or import the module)', command: 'natmod.boardRun' },
    { label: '$(output) Show server log', command: 'natmod.showOutput' },
    { label: '$(debug-restart) Restart language server', command: 'natmod.restartServer' },
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: statusText() });
  if (pick) await vscode.commands.executeCommand(pick.command);
}

// ------------------------------------------------------------------------------ activation
export async function activate(context: vscode.ExtensionContext): Promise<NatmodApi> {
  ctx = context;
  output = vscode.window.createOutputChannel('natmod-lsp');
  traceOutput = vscode.window.createOutputChannel('natmod-lsp trace');
  statusItem = vscode.window.createStatusBarItem('natmod.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = 'natmod-lsp';
  statusItem.command = 'natmod.statusMenu';
  context.subscriptions.push(output, traceOutput, statusItem);
  // The status bar item shows from the first natmod file on, and hides while a text editor of
  // another file is active (not for webviews or panels: they have no text editor).
  const updateVisibility = () => {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc) return;
    if (doc.uri.scheme === 'file' && projectDirOf(doc.uri.fsPath)) statusItem.show();
    else statusItem.hide();
  };
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(updateVisibility));
  updateVisibility();

  const register = (id: string, fn: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register('natmod.rebuild', rebuild);
  register('natmod.pickArch', pickArch);
  register('natmod.runInMicroPython', runInMicroPython);
  register('natmod.restartServer', restart);
  register('natmod.showOutput', () => output.show(true));
  register('natmod.statusMenu', statusMenu);
  register('natmod.doctor', () => doctor(context.extensionPath));
  board.activate(context, {
    client: () => client, log, findProjectDir, projectDirOf,
  });

  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) { log('settings changed: restarting'); void restart(); }
    else if (e.affectsConfiguration('natmod')) setStatus({});
  }));
  // Limited support in untrusted workspaces: the server starts with trusted=false and runs nothing;
  // when trust is granted it restarts with trusted=true.
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => { log('workspace trusted: restarting'); void restart(); }));
  context.subscriptions.push({ dispose: () => { void stopClient(); } });
  trackBuildsWithoutServerStatus();

  await startClient();
  return {
    client: () => client,
    statusText,
    status: () => ({ state: status.state, arch: status.arch, mpyAbi: status.mpyAbi, fromServer: status.fromServer }),
    serverCommand: () => resolveServer(context.extensionPath),
    initializationOptions,
    restart,
    lastStartError: () => startError,
    boardStatusText: board.shownText,
    boardPort: board.port,
  };
}

export function deactivate(): Thenable<void> | undefined {
  return stopClient();
}
