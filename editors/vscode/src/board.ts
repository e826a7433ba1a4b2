// The board commands of the VS Code client: pick a serial port (natmod/boardPorts), show the
// board in the status bar (natmod/boardInfo), check the built .mpy against it (natmod/boardCheck;
// a mismatch is a diagnostic on the Makefile's ARCH line), run the current .py or the module
// from the board's RAM (natmod.boardRun) and deploy it (natmod.boardDeploy). The server talks
// to the board; nothing is sent to a board unless the workspace is trusted and the user asked.
import * as vscode from 'vscode';
import * as path from 'path';
import { ExecuteCommandRequest, LanguageClient, State } from 'vscode-languageclient/node';

/** The commands registered here. */
export const COMMANDS = ['natmod.boardPick', 'natmod.boardInfo', 'natmod.boardCheck', 'natmod.boardRun',
  'natmod.boardDeploy', 'natmod.boardMenu'];
const PORT_KEY = 'natmod.board.port';

/** What the extension lends the board commands. */
export interface Host {
  client(): LanguageClient | undefined;
  log(msg: string): void;
  findProjectDir(): Promise<string | undefined>;
  projectDirOf(file: string): string | undefined;
}

/** A serial port as natmod/boardPorts lists it. */
interface PortInfo { port: string; usb?: string; product?: string; hint?: string }
/** One reason the board refuses the module (natmod/boardCheck). */
interface Mismatch { kind: string; message: string; fix: string }

let host: Host;
let ctx: vscode.ExtensionContext;
let item: vscode.StatusBarItem;
let out: vscode.OutputChannel;
let diags: vscode.DiagnosticCollection;
let summary: string | undefined;

/** The picked port, remembered per workspace. */
export function port(): string | undefined {
  return ctx?.workspaceState.get<string>(PORT_KEY);
}

/** The status bar text: `$(plug) rp2 · armv6m · mpy 6.3`, or the port while the board is unknown. */
export function statusText(): string {
  const p = port();
  if (!p) return '';
  return `$(plug) ${summary ?? `${path.basename(p)} (board not read yet)`}`;
}

/** What the board's status bar item shows now ('' while hidden). */
export function shownText(): string {
  return port() ? item?.text ?? '' : '';
}

function update() {
  item.text = statusText();
  item.tooltip = `natmod board on ${port() ?? '(no port)'}\nClick for the board commands`;
  if (port()) item.show(); else item.hide();
}

function errorText(e: unknown): string { return e instanceof Error ? e.message : String(e); }

/** Only in a trusted workspace: code goes to the board. */
function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage('natmod: nothing is sent to a board in an untrusted workspace. Trust it first.', 'Manage Trust')
    .then((p) => { if (p) void vscode.commands.executeCommand('workbench.trust.manage'); });
  return false;
}

function running(): LanguageClient | undefined {
  const c = host.client();
  if (c?.state === State.Running) return c;
  void vscode.window.showWarningMessage('natmod: the language server is not running.');
  return undefined;
}

/** The port to use: the picked one, else the pick now. */
async function needPort(): Promise<string | undefined> {
  return port() ?? (await pick());
}

/** A board operation under a progress notification; errors are shown and give `undefined`. */
async function withBoard<T>(title: string, op: () => Promise<T>): Promise<T | undefined> {
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `natmod: ${title}` }, op);
  } catch (e) {
    host.log(`${title}: ${errorText(e)}`);
    out.appendLine(`${title}: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`natmod: ${title}: ${errorText(e)}`, 'Show Output').then((p) => { if (p) out.show(true); });
    return undefined;
  }
}

/** natmod.boardPick [port]: a quick pick of the serial ports (USB VID:PID, MicroPython-likely
 * ones marked and first), or any path typed in; then reads the board. */
export async function pick(given?: string): Promise<string | undefined> {
  let chosen = typeof given === 'string' && given ? given : undefined;
  if (!chosen) {
    const c = running();
    let ports: PortInfo[] = [];
    if (c) {
      const r = await c.sendRequest<PortInfo[] | { error: string }>('natmod/boardPorts');
      if (Array.isArray(r)) ports = r; else host.log(`boardPorts: ${r.error}`);
    }
    ports.sort((a, b) => Number(!!b.hint) - Number(!!a.hint) || a.port.localeCompare(b.port));
    type Item = vscode.QuickPickItem & { port?: string };
    const items: Item[] = ports.map((p) => ({
      label: `${p.hint ? '$(star-full) ' : ''}${p.port}`,
      description: [p.usb, p.product].filter(Boolean).join(' '),
      detail: p.hint ? `likely MicroPython: ${p.hint}` : undefined,
      port: p.port,
    }));
    items.push({ label: '$(edit) Another path…', detail: 'a pty of an emulated board, /dev/serial/by-id/…' });
    const sel = await vscode.window.showQuickPick(items, { placeHolder: `Serial port of the MicroPython board${port() ? ` (now ${port()})` : ''}` });
    if (!sel) return undefined;
    chosen = sel.port ?? await vscode.window.showInputBox({ prompt: 'Serial port path', value: port() ?? '/dev/ttyACM0' });
    if (!chosen) return undefined;
  }
  await ctx.workspaceState.update(PORT_KEY, chosen);
  summary = undefined;
  update();
  if (vscode.workspace.isTrusted) await info();
  return chosen;
}

/** natmod.boardInfo: what the board is, into the status bar and the output. */
export async function info(): Promise<unknown> {
  if (!trusted()) return undefined;
  const c = running(); const p = await needPort();
  if (!c || !p) return undefined;
  const r = await withBoard(`reading the board on ${p}`, () => c.sendRequest<Record<string, unknown>>('natmod/boardInfo', { port: p }));
  if (!r) { summary = undefined; update(); return undefined; }
  summary = String(r.summary ?? '');
  update();
  out.appendLine(`board on ${p}: ${summary} (micropython ${r.version ?? '?'} on ${r.machine ?? '?'}, ${r.memFree ?? '?'} bytes free)`);
  return r;
}

async function projectUri(file?: string): Promise<string | undefined> {
  const dir = (file ? host.projectDirOf(file) : undefined) ?? await host.findProjectDir();
  return dir ? vscode.Uri.file(dir).toString() : undefined;
}

/** natmod.boardCheck: whether the built .mpy loads on the board; each mismatch is an error on
 * the Makefile's ARCH line (RAM warnings are warnings there), cleared when the check passes. */
export async function check(): Promise<unknown> {
  if (!trusted()) return undefined;
  const c = running(); const p = await needPort();
  if (!c || !p) return undefined;
  const project = await projectUri(vscode.window.activeTextEditor?.document.uri.fsPath);
  const r = await withBoard(`checking the module against ${p}`, () => c.sendRequest<{
    ok: boolean; summary: string; makefile?: string; archLine?: number;
    check: { module: string; mismatches: Mismatch[]; warnings: string[]; ram: number; memFree: number };
  }>('natmod/boardCheck', { port: p, project }));
  if (!r) return undefined;
  summary = r.summary;
  update();
  diags.clear();
  if (r.makefile) {
    const line = r.archLine ?? 0;
    const range = new vscode.Range(line, 0, line, 1000);
    const list = r.check.mismatches.map((m) => {
      const d = new vscode.Diagnostic(range, `${m.message} (board ${r.summary}); fix: ${m.fix}`, vscode.DiagnosticSeverity.Error);
      d.source = 'natmod board'; d.code = m.kind;
      return d;
    });
    for (const w of r.check.warnings) {
      const d = new vscode.Diagnostic(range, w, vscode.DiagnosticSeverity.Warning);
      d.source = 'natmod board';
      list.push(d);
    }
    diags.set(vscode.Uri.parse(r.makefile), list);
  }
  const said = r.ok ? `${path.basename(r.check.module)} loads on ${r.summary} (${r.check.ram} bytes of RAM of ${r.check.memFree} free)`
    : `${path.basename(r.check.module)} does not load on ${r.summary}: ${r.check.mismatches.map((m) => m.fix).join('; ')}`;
  out.appendLine(said);
  if (r.ok) void vscode.window.showInformationMessage(`natmod: ${said}`);
  else void vscode.window.showErrorMessage(`natmod: ${said}`);
  return r;
}

/** natmod.boardRun [{code}]: with a .py in the editor, runs it on the board after loading the
 * module into the board's RAM; otherwise imports the module (or runs `code`). Output in the
 * "natmod board" channel; returns the server's result. */
export async function run(args?: { code?: string; timeoutMs?: number }): Promise<unknown> {
  if (!trusted()) return undefined;
  const c = running(); const p = await needPort();
  if (!c || !p) return undefined;
  const doc = vscode.window.activeTextEditor?.document;
  const script = doc?.uri.scheme === 'file' && doc.uri.fsPath.endsWith('.py') ? doc : undefined;
  if (script?.isDirty) await script.save();
  const params: Record<string, unknown> = { port: p, project: await projectUri(script?.uri.fsPath) };
  if (typeof args?.code === 'string') params.code = args.code;
  else if (script) params.script = script.uri.fsPath;
  if (typeof args?.timeoutMs === 'number') params.timeoutMs = args.timeoutMs;
  const what = script && params.script ? path.basename(script.uri.fsPath) : 'the module';
  const r = await withBoard(`running ${what} on ${p}`, () => c.sendRequest(ExecuteCommandRequest.type,
    { command: 'natmod.boardRun', arguments: [params] })) as
    { ok: boolean; summary: string; run: { output: string; error?: string; firstOutputMs?: number; totalMs: number } } | undefined;
  if (!r) return undefined;
  summary = r.summary;
  update();
  out.appendLine(`--- ${what} on ${r.summary} (${p}): ${r.ok ? 'ok' : 'error'} in ${r.run.totalMs} ms`);
  out.append(r.run.output);
  if (r.run.error) out.append(r.run.error);
  out.show(true);
  return r;
}

/** natmod.boardDeploy [{dir}]: copies the built .mpy to the board's filesystem (/lib). */
export async function deploy(args?: { dir?: string }): Promise<unknown> {
  if (!trusted()) return undefined;
  const c = running(); const p = await needPort();
  if (!c || !p) return undefined;
  const project = await projectUri(vscode.window.activeTextEditor?.document.uri.fsPath);
  const r = await withBoard(`deploying to ${p}`, () => c.sendRequest(ExecuteCommandRequest.type,
    { command: 'natmod.boardDeploy', arguments: [{ port: p, project, ...(args?.dir ? { dir: args.dir } : {}) }] })) as
    { path: string; bytes: number } | undefined;
  if (!r) return undefined;
  out.appendLine(`deployed: ${r.bytes} bytes written to ${r.path} on ${p}`);
  void vscode.window.showInformationMessage(`natmod: ${r.bytes} bytes written to ${r.path}`);
  return r;
}

async function menu(): Promise<void> {
  const items = [
    { label: '$(plug) Pick a port', command: 'natmod.boardPick' },
    { label: '$(info) Board info', command: 'natmod.boardInfo' },
    { label: '$(check) Check the module against the board', command: 'natmod.boardCheck' },
    { label: '$(play) Run the current .py (or import the module)', command: 'natmod.boardRun' },
    { label: '$(cloud-upload) Deploy the module to the board', command: 'natmod.boardDeploy' },
  ];
  const sel = await vscode.window.showQuickPick(items, { placeHolder: statusText() || 'natmod board' });
  if (sel) await vscode.commands.executeCommand(sel.command);
}

/** Registers the board commands and the board's status bar item. */
export function activate(context: vscode.ExtensionContext, h: Host) {
  ctx = context;
  host = h;
  item = vscode.window.createStatusBarItem('natmod.board', vscode.StatusBarAlignment.Left, 9);
  item.name = 'natmod board';
  item.command = 'natmod.boardMenu';
  out = vscode.window.createOutputChannel('natmod board');
  diags = vscode.languages.createDiagnosticCollection('natmod-board');
  context.subscriptions.push(item, out, diags);
  const register = (id: string, fn: (...a: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register('natmod.boardPick', pick);
  register('natmod.boardInfo', info);
  register('natmod.boardCheck', check);
  register('natmod.boardRun', run);
  register('natmod.boardDeploy', deploy);
  register('natmod.boardMenu', menu);
  update();
}
