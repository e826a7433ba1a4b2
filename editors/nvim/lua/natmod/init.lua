-- natmod.nvim: Neovim (>= 0.11) client for natmod-lsp, the language server for MicroPython
-- native modules (natmods). See :help natmod.
--
--   require('natmod').setup({ trusted = true })
--
-- The server does the work (evaluates the Makefile with make, compiles on save, links with
-- natmod-ld, publishes diagnostics, completes the natmod API). It runs nothing (no make, no
-- compiler) until it is told the project is trusted: `trusted` is off unless you turn it on.
local M = {}

M.archs = { 'x86', 'x64', 'armv6m', 'armv7m', 'armv7emsp', 'armv7emdp', 'xtensa', 'xtensawin', 'rv32imc', 'rv64imc' }
M.default_mpy_abi = '6.3'

local defaults = {
  -- true, false, or function(root_dir) -> boolean. natmod-lsp builds nothing unless true.
  trusted = false,
  -- The server command (list or string). nil: vim.g.natmod_server_path, else `natmod-lsp` on PATH.
  cmd = nil,
  -- ARCH override (nil: the Makefile's ARCH); extra make arguments; archs to check portability for.
  arch = nil,
  make_args = {},
  portability_archs = {},
  filetypes = { 'c', 'make' },
  -- Extra fields merged into vim.lsp.config('natmod', ...) (capabilities, on_attach, settings...).
  lsp = {},
}

M.config = vim.deepcopy(defaults)

-- Build state per client id: { state, arch, mpy, errors, from_server, message }
local status = {}

local function notify(msg, level) vim.notify('natmod: ' .. msg, level or vim.log.levels.INFO) end

local function is_natmod_makefile(path)
  local f = io.open(path, 'r')
  if not f then return false end
  local text = f:read('*a') or ''
  f:close()
  return text:find('dynruntime.mk', 1, true) ~= nil
end

--- The natmod project directory of a path: the nearest directory upwards whose Makefile
--- includes $(MPY_DIR)/py/dynruntime.mk.
---@param path string a file or directory
---@return string|nil
function M.find_root(path)
  if path == nil or path == '' then return nil end
  local start = vim.fn.isdirectory(path) == 1 and path or vim.fs.dirname(path)
  local found = vim.fs.find(function(name, dir)
    return (name == 'Makefile' or name == 'makefile' or name == 'GNUmakefile')
      and is_natmod_makefile(vim.fs.joinpath(dir, name))
  end, { path = start, upward = true, type = 'file', limit = 1 })
  return found[1] and vim.fs.dirname(found[1]) or nil
end

local function is_trusted(root)
  local t = M.config.trusted
  if type(t) == 'function' then
    local ok, v = pcall(t, root)
    return ok and v == true
  end
  return t == true
end
--- Whether the project at `root` is trusted (setup's `trusted`).
M.is_trusted = is_trusted

--- initializationOptions for a client of the project at `root`.
function M.init_options(root)
  local o = { trusted = is_trusted(root) }
  if M.config.arch and M.config.arch ~= '' then o.arch = M.config.arch end
  if M.config.make_args and #M.config.make_args > 0 then
    o.makeArgs = M.config.make_args
    -- The same NAME=value overrides as an object (the form natmod-lsp's config reads).
    local vars = {}
    for _, a in ipairs(M.config.make_args) do
      local k, v = a:match('^([%w_]+)=(.*)$')
      if k then vars[k] = v end
    end
    if next(vars) then o.makeVariables = vars end
  end
  if M.config.portability_archs and #M.config.portability_archs > 0 then o.portabilityArchs = M.config.portability_archs end
  return o
end

--- The server command as a list (setup's `cmd`, else vim.g.natmod_server_path, else PATH).
function M.server_cmd()
  local cmd = M.config.cmd or vim.g.natmod_server_path or 'natmod-lsp'
  if type(cmd) == 'string' then cmd = { cmd } end
  return cmd
end
local server_cmd = M.server_cmd

local function clients(bufnr)
  return vim.lsp.get_clients({ name = 'natmod', bufnr = bufnr })
end

local function set_status(client_id, patch)
  local s = status[client_id] or { state = 'starting', mpy = M.default_mpy_abi, errors = 0 }
  for k, v in pairs(patch) do s[k] = v end
  status[client_id] = s
  vim.cmd('redrawstatus')
end

local function normalise_state(s)
  s = (s or ''):lower()
  if s == 'building' or s == 'compiling' or s == 'linking' then return 'building' end
  if s == 'ok' or s == 'built' or s == 'success' or s == 'done' then return 'ok' end
  if s == 'error' or s == 'errors' or s == 'failed' then return 'errors' end
  if s == 'idle' or s == 'ready' then return 'idle' end
  if s == 'untrusted' then return 'untrusted' end
  return nil
end

--- Handler of the optional `natmod/status` notification {state?, arch?, mpyVersion?, module?,
--- message?, errors?, linked?}. natmod-lsp sends it after each build, with `errors` and no `state`.
local function on_status(_, params, ctx)
  params = params or {}
  local state = normalise_state(params.state)
  if not state and type(params.errors) == 'number' then state = params.errors > 0 and 'errors' or 'ok' end
  set_status(ctx.client_id, {
    from_server = true,
    state = state or (status[ctx.client_id] or {}).state,
    arch = params.arch,
    mpy = params.mpyVersion,
    module = params.module,
    message = params.message,
  })
end

--- A short status for the statusline: "natmod x64 · mpy 6.3 · ok", or '' when the buffer has
--- no natmod client. Use in 'statusline': %{v:lua.require'natmod'.statusline()}
function M.statusline(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local c = clients(bufnr)[1]
  if not c then return '' end
  local s = status[c.id] or { state = 'starting', mpy = M.default_mpy_abi }
  local arch = (M.config.arch and M.config.arch ~= '' and M.config.arch) or s.arch or 'Makefile ARCH'
  return string.format('natmod %s · mpy %s · %s', arch, s.mpy or M.default_mpy_abi, s.state)
end

--- The status table of the buffer's natmod client (for custom statuslines), or nil.
function M.status(bufnr)
  local c = clients(bufnr or vim.api.nvim_get_current_buf())[1]
  return c and status[c.id] or nil
end

-- A save starts a build; without natmod/status from the server, its outcome follows the diagnostics.
local function track_without_server_status(client, bufnr)
  local group = vim.api.nvim_create_augroup('natmod.status.' .. client.id, { clear = false })
  vim.api.nvim_create_autocmd('BufWritePost', {
    group = group, buffer = bufnr,
    callback = function()
      local s = status[client.id]
      if s and s.state ~= 'untrusted' then set_status(client.id, { state = 'building' }) end
    end,
  })
  vim.api.nvim_create_autocmd('DiagnosticChanged', {
    group = group, buffer = bufnr,
    callback = function()
      local s = status[client.id]
      if not s or s.from_server or s.state == 'untrusted' then return end
      local ns = vim.lsp.diagnostic.get_namespace(client.id)
      local n = #vim.diagnostic.get(nil, { namespace = ns, severity = vim.diagnostic.severity.ERROR })
      if n > 0 then set_status(client.id, { state = 'errors', errors = n })
      elseif s.state == 'building' or s.state == 'errors' then set_status(client.id, { state = 'ok', errors = 0 }) end
    end,
  })
end

local function lsp_config()
  return vim.tbl_deep_extend('force', {
    cmd = server_cmd(),
    filetypes = M.config.filetypes,
    root_dir = function(bufnr, on_dir)
      local root = M.find_root(vim.api.nvim_buf_get_name(bufnr))
      if root then on_dir(root) end
    end,
    -- Computed per start, so :NatmodArch and a changed `trusted` take effect on restart.
    before_init = function(params, config)
      params.initializationOptions = M.init_options(config.root_dir)
    end,
    handlers = { ['natmod/status'] = on_status },
    on_init = function(client)
      set_status(client.id, { state = is_trusted(client.root_dir) and 'idle' or 'untrusted' })
    end,
    on_exit = function(_, _, client_id) status[client_id] = nil end,
  }, M.config.lsp or {}, {
    on_attach = function(client, bufnr)
      track_without_server_status(client, bufnr)
      local user = M.config.lsp and M.config.lsp.on_attach
      if user then user(client, bufnr) end
    end,
  })
end

--- Configure and enable the 'natmod' LSP config (vim.lsp.config + vim.lsp.enable).
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if vim.fn.has('nvim-0.11') ~= 1 then
    notify('needs Neovim >= 0.11 (vim.lsp.config/vim.lsp.enable)', vim.log.levels.ERROR)
    return
  end
  vim.lsp.config('natmod', lsp_config())
  vim.lsp.enable('natmod')
end

--- Stop the natmod clients and start them again for every loaded buffer they apply to.
function M.restart()
  local running = vim.lsp.get_clients({ name = 'natmod' })
  for _, c in ipairs(running) do c:stop() end
  vim.wait(5000, function()
    for _, c in ipairs(running) do
      if not c:is_stopped() then return false end
    end
    return true
  end, 20)
  vim.lsp.config('natmod', lsp_config())
  vim.lsp.enable('natmod')
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.tbl_contains(M.config.filetypes, vim.bo[b].filetype) then
      vim.api.nvim_exec_autocmds('FileType', { group = 'nvim.lsp.enable', buffer = b })
    end
  end
end

--- :NatmodRebuild: the server's rebuild command if it offers one (workspace/executeCommand),
--- else a textDocument/didSave of the buffer (the server rebuilds on save).
function M.rebuild(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local c = clients(bufnr)[1]
  if not c then
    -- Not in a natmod buffer: use any natmod client and one of its attached buffers.
    c = vim.lsp.get_clients({ name = 'natmod' })[1]
    if not c then return notify('no natmod-lsp client running (open a C file of a natmod project)', vim.log.levels.WARN) end
    bufnr = next(c.attached_buffers) or bufnr
  end
  if not is_trusted(c.root_dir) then
    return notify('natmod-lsp builds nothing in an untrusted project: setup{ trusted = true }', vim.log.levels.WARN)
  end
  local provider = c.server_capabilities and c.server_capabilities.executeCommandProvider
  for _, name in ipairs(provider and provider.commands or {}) do
    if name:match('rebuild$') then
      set_status(c.id, { state = 'building' })
      c:request('workspace/executeCommand', { command = name, arguments = { vim.uri_from_fname(c.root_dir) } }, nil, bufnr)
      return
    end
  end
  set_status(c.id, { state = 'building' })
  c:notify('textDocument/didSave', { textDocument = { uri = vim.uri_from_bufnr(bufnr) } })
end

--- :NatmodArch {arch}: set the ARCH override ("default" clears it) and restart the server.
function M.set_arch(arch)
  if arch == nil or arch == '' then
    return notify('ARCH ' .. ((M.config.arch and M.config.arch ~= '') and M.config.arch or "from the Makefile"))
  end
  if arch == 'default' then arch = nil
  elseif not vim.tbl_contains(M.archs, arch) then
    return notify('unknown arch ' .. arch .. ' (one of ' .. table.concat(M.archs, ', ') .. ', default)', vim.log.levels.ERROR)
  end
  M.config.arch = arch
  M.restart()
end

return M
