-- :checkhealth natmod: `natmod-lsp doctor` for the natmod project of the current buffer (or of
-- the current directory): the server, make, MPY_DIR and, arch by arch, the compiler found or
-- the Debian package to install.
local M = {}

function M.check()
  local health = vim.health
  local natmod = require('natmod')
  health.start('natmod-lsp')
  local cmd = vim.deepcopy(natmod.server_cmd())
  if vim.fn.executable(cmd[1]) ~= 1 then
    health.error(('server `%s` not found'):format(cmd[1]),
      { 'cargo install --path server (in the natmod-lsp repo), or set setup{ cmd = ... }' })
    return
  end
  health.ok('server: ' .. table.concat(cmd, ' '))
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':p')
  local root = natmod.find_root(name ~= '' and name or (vim.fn.getcwd() .. '/x.c'))
  if not root then
    health.warn('no natmod project here (a Makefile that includes $(MPY_DIR)/py/dynruntime.mk)',
      { 'open a C file of a natmod project, then run :checkhealth natmod again' })
    return
  end
  health.info('project: ' .. root)
  vim.list_extend(cmd, { 'doctor', root, '--format', 'json' })
  for _, a in ipairs(natmod.config.make_args or {}) do
    vim.list_extend(cmd, { '--var', a })
  end
  local r = vim.system(cmd, { text = true }):wait(120000)
  local ok, report = pcall(vim.json.decode, r.stdout or '')
  if not ok or type(report) ~= 'table' then
    health.error('natmod-lsp doctor gave no report: ' .. vim.trim((r.stderr or '') .. (r.stdout or '')))
    return
  end
  if report.mpy_dir and report.mpy_dir ~= vim.NIL then
    health.ok(('MPY_DIR %s (MicroPython %s, .mpy %s)'):format(
      report.mpy_dir, tostring(report.micropython), report.mpy_version))
  else
    health.error('MPY_DIR is not usable: see the arches below')
  end
  local function tool(label, t)
    if t.path and t.path ~= vim.NIL then
      health.ok(('%s: %s (%s)'):format(label, t.path, tostring(t.version)))
    else
      health.error(('%s: %s not found'):format(label, t.program), { tostring(t.hint) })
    end
  end
  for _, t in ipairs(report.tools or {}) do tool(t.role, t) end
  for _, a in ipairs(report.arches or {}) do
    if a.compiler and a.compiler ~= vim.NIL then
      tool(a.arch, a.compiler)
    elseif a.status == 'unsupported' then
      health.info(('%s: %s'):format(a.arch, tostring(a.problem)))
    else
      health.warn(('%s: %s'):format(a.arch, tostring(a.problem)))
    end
  end
  local exit = report.exit
  if exit == 0 then
    health.ok('every arch can build')
  elseif exit == 1 then
    health.warn('some arches can build: ' .. table.concat(report.buildable or {}, ', '))
  else
    health.error('the project cannot build')
  end
end

return M
