-- natmod.nvim board commands: pick a serial port (natmod/boardPorts), read the board
-- (natmod/boardInfo) for the statusline, check the built .mpy against it (natmod/boardCheck: a
-- mismatch is a diagnostic on the Makefile's ARCH line), run a .py or the module from the
-- board's RAM (natmod.boardRun) and deploy it (natmod.boardDeploy). The server talks to the
-- board; nothing goes to a board unless the project is trusted and the user ran the command.
local M = {}

--- The picked port, the board's summary ("rp2 · armv6m · mpy 6.3"), the last results.
M.state = { port = nil, summary = nil, last = {} }
M.ns = vim.api.nvim_create_namespace('natmod.board')

local function notify(msg, level) vim.notify('natmod board: ' .. msg, level or vim.log.levels.INFO) end

--- The natmod client of the current buffer, else any natmod client.
local function client()
  return vim.lsp.get_clients({ name = 'natmod', bufnr = 0 })[1] or vim.lsp.get_clients({ name = 'natmod' })[1]
end

--- A client that may talk to the board (running, trusted), or nil after saying why.
local function usable()
  local c = client()
  if not c then
    notify('no natmod-lsp client running (open a C file of a natmod project)', vim.log.levels.WARN)
    return nil
  end
  if not require('natmod').is_trusted(c.root_dir) then
    notify('nothing is sent to a board in an untrusted project: setup{ trusted = true }', vim.log.levels.WARN)
    return nil
  end
  if not M.state.port then
    notify('no port picked: :NatmodBoard pick', vim.log.levels.WARN)
    return nil
  end
  return c
end

--- The statusline component: the board's summary ("qemu · armv7em · mpy 6.3"), the port while
--- it is unread, '' without a port. Use in 'statusline': %{v:lua.require'natmod.board'.statusline()}
function M.statusline()
  if not M.state.port then return '' end
  return M.state.summary or (vim.fs.basename(M.state.port) .. ' (board not read yet)')
end

--- Sends `method` to the server and calls `done(result)`; errors are notified and stored as
--- `{error = message}` in M.state.last[what].
local function request(c, what, method, params, done)
  c:request(method, params, function(err, result)
    if err then
      M.state.last[what] = { error = err.message }
      notify(what .. ': ' .. err.message, vim.log.levels.ERROR)
      return
    end
    M.state.last[what] = result
    if done then done(result) end
    vim.cmd('redrawstatus')
  end)
end

local function project(c)
  return { port = M.state.port, project = vim.uri_from_fname(c.root_dir) }
end

--- :NatmodBoard info: reads the board into the statusline.
function M.info()
  local c = usable()
  if not c then return end
  request(c, 'info', 'natmod/boardInfo', { port = M.state.port }, function(r)
    M.state.summary = r.summary
    notify(string.format('%s on %s (micropython %s, %s bytes free)', r.summary, M.state.port, r.version or '?', r.memFree or '?'))
  end)
end

--- :NatmodBoard pick [port]: sets the port (given, or picked from the serial ports with the
--- MicroPython-likely ones marked and first), then reads the board.
function M.pick(port)
  local function set(p)
    if not p or p == '' then return end
    M.state.port, M.state.summary = p, nil
    vim.cmd('redrawstatus')
    M.info()
  end
  if port and port ~= '' then return set(port) end
  local c = client()
  if not c then return notify('no natmod-lsp client running', vim.log.levels.WARN) end
  c:request('natmod/boardPorts', vim.NIL, function(err, ports)
    ports = (not err and vim.islist(ports)) and ports or {}
    table.sort(ports, function(a, b)
      if (a.hint ~= nil) ~= (b.hint ~= nil) then return a.hint ~= nil end
      return a.port < b.port
    end)
    table.insert(ports, { port = '', other = true })
    vim.ui.select(ports, {
      prompt = 'Serial port of the MicroPython board',
      format_item = function(p)
        if p.other then return 'another path…' end
        return string.format('%s%s %s %s', p.hint and '* ' or '', p.port, p.usb or '', p.hint and ('(likely MicroPython: ' .. p.hint .. ')') or (p.product or ''))
      end,
    }, function(choice)
      if not choice then return end
      if choice.other then
        vim.ui.input({ prompt = 'Serial port path: ', default = M.state.port or '/dev/ttyACM0' }, set)
      else
        set(choice.port)
      end
    end)
  end)
end

--- :NatmodBoard check: whether the built .mpy loads on the board; each mismatch is an error on
--- the Makefile's ARCH line (RAM warnings are warnings), cleared when the check passes.
function M.check()
  local c = usable()
  if not c then return end
  request(c, 'check', 'natmod/boardCheck', project(c), function(r)
    M.state.summary = r.summary
    local diags = {}
    for _, m in ipairs(r.check.mismatches or {}) do
      table.insert(diags, { lnum = r.archLine or 0, col = 0, severity = vim.diagnostic.severity.ERROR, source = 'natmod board',
        code = m.kind, message = string.format('%s (board %s); fix: %s', m.message, r.summary, m.fix) })
    end
    for _, w in ipairs(r.check.warnings or {}) do
      table.insert(diags, { lnum = r.archLine or 0, col = 0, severity = vim.diagnostic.severity.WARN, source = 'natmod board', message = w })
    end
    vim.diagnostic.reset(M.ns)
    if r.makefile then
      local buf = vim.fn.bufadd(vim.uri_to_fname(r.makefile))
      vim.fn.bufload(buf)
      vim.diagnostic.set(M.ns, buf, diags)
    end
    local name = vim.fs.basename(r.check.module)
    if r.ok then
      notify(string.format('%s loads on %s (%d bytes of RAM of %d free)', name, r.summary, r.check.ram, r.check.memFree))
    else
      notify(string.format('%s does not load on %s (see the Makefile)', name, r.summary), vim.log.levels.ERROR)
    end
  end)
end

--- :NatmodBoard run [code]: loads the module into the board's RAM and runs the current .py
--- buffer (saved first), else `code`, else only imports the module. Output is notified.
function M.run(code)
  local c = usable()
  if not c then return end
  local params = project(c)
  local name = vim.api.nvim_buf_get_name(0)
  if code and code ~= '' then
    params.code = code
  elseif name:match('%.py$') then
    if vim.bo.modified then vim.cmd('silent write') end
    params.script = name
  end
  request(c, 'run', 'workspace/executeCommand', { command = 'natmod.boardRun', arguments = { params } }, function(r)
    M.state.summary = r.summary
    local text = (r.run.output or '') .. (r.run.error or '')
    notify(string.format('%s in %d ms:\n%s', r.ok and 'ran' or 'error', r.run.totalMs or 0, text),
      r.ok and vim.log.levels.INFO or vim.log.levels.ERROR)
  end)
end

--- :NatmodBoard deploy [dir]: copies the built .mpy to the board's filesystem (/lib).
function M.deploy(dir)
  local c = usable()
  if not c then return end
  local params = project(c)
  if dir and dir ~= '' then params.dir = dir end
  request(c, 'deploy', 'workspace/executeCommand', { command = 'natmod.boardDeploy', arguments = { params } }, function(r)
    notify(string.format('%d bytes written to %s', r.bytes, r.path))
  end)
end

--- The :NatmodBoard subcommands.
M.subcommands = { pick = M.pick, info = M.info, check = M.check, run = M.run, deploy = M.deploy }

return M
