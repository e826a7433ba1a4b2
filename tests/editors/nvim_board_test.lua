-- Headless Neovim test of editors/nvim's board commands against natmod-lsp and an emulated
-- MicroPython board (QEMU MPS2_AN385, a Cortex-M3) on a pty, on a copy of examples/factorial
-- built for armv7m. Run by tests/editors/run-checks.sh (mode board):
--   nvim --headless -i NONE -n -u tests/editors/nvim_board_test.lua
-- env: NATMOD_PLUGIN_DIR, NATMOD_LSP_CMD, NATMOD_WS (the example's copy), MPY_DIR (the newest
-- tree: the firmware's), NATMOD_TEST_BOARD_PORT (the board's pty), NATMOD_TEST_TIMEOUT (s).
-- Prints "ok - ..." / "not ok - ..." per test and "N passed, N failed"; exit status 1 on failure.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local out, test = H.out, H.test
local env = vim.env
local timeout = tonumber(env.NATMOD_TEST_TIMEOUT or '60') * 1000
local ws, port = env.NATMOD_WS, env.NATMOD_TEST_BOARD_PORT
local module = 'factorial_nm'
local cfile, mpy, makefile = ws .. '/factorial.c', ws .. '/' .. module .. '.mpy', ws .. '/Makefile'
local FACTORIAL_20 = '2432902008176640000'
local said = {} -- every vim.notify message

--- The .mpy's arch code (header byte 2 >> 2), nil while there is no .mpy.
local function mpy_arch()
  local f = io.open(mpy, 'rb'); if not f then return nil end
  local b = f:read(4) or ''; f:close()
  if #b == 4 and b:sub(1, 1) == 'M' then return math.floor(b:byte(3) / 4) end
end

--- Runs :NatmodBoard ARGS and waits for the result of `what` (board.state.last[what]).
local function board_cmd(args, what)
  local board = require('natmod.board')
  board.state.last[what] = nil
  vim.cmd('NatmodBoard ' .. args)
  vim.wait(timeout, function() return board.state.last[what] ~= nil end, 20)
  local r = board.state.last[what]
  assert(r, string.format(':NatmodBoard %s: no answer within %ds', args, timeout / 1000))
  assert(not r.error, string.format(':NatmodBoard %s: %s', args, tostring(r.error)))
  return r
end

local function run()
  assert(port and port ~= '', 'NATMOD_TEST_BOARD_PORT is not set: run-checks.sh starts the emulated board and sets it')
  local notify = vim.notify
  vim.notify = function(msg, level, o) table.insert(said, msg); return notify(msg, level, o) end
  vim.opt.rtp:prepend(env.NATMOD_PLUGIN_DIR)
  vim.cmd('runtime! plugin/natmod.lua')
  vim.cmd('filetype on')
  local natmod = require('natmod')
  local board = require('natmod.board')
  natmod.setup({ trusted = true, cmd = { env.NATMOD_LSP_CMD }, arch = 'armv7m', make_args = { 'MPY_DIR=' .. env.MPY_DIR } })
  vim.o.laststatus = 2
  vim.o.statusline = "%{v:lua.require'natmod.board'.statusline()}"
  vim.cmd.edit(vim.fn.fnameescape(cfile))
  local buf = vim.api.nvim_get_current_buf()
  out(string.format('nvim %s, server %s, workspace %s, board on %s', tostring(vim.version()), env.NATMOD_LSP_CMD, ws, port))
  local shown = function() return vim.api.nvim_eval_statusline(vim.o.statusline, {}).str end

  test('the plugin starts the client and :NatmodRebuild writes an armv7m .mpy', function()
    vim.wait(20000, function()
      local c = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
      return c ~= nil and c.initialized
    end, 20)
    assert(vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1], 'no natmod client within 20s')
    os.remove(mpy)
    vim.cmd('NatmodRebuild')
    vim.wait(timeout, function() return mpy_arch() == 5 end, 50)
    assert(mpy_arch() == 5, module .. '.mpy (armv7m, arch code 5) not built within ' .. timeout / 1000 .. 's: ' .. tostring(mpy_arch()))
  end)

  test('untrusted: :NatmodBoard info sends nothing and says why', function()
    natmod.config.trusted = false
    board.state.port = port
    local ok, err = pcall(function()
      board.state.last.info = nil
      vim.cmd('NatmodBoard info')
      vim.wait(1000, function() return board.state.last.info ~= nil end, 20)
      assert(board.state.last.info == nil, 'a request went out: ' .. vim.inspect(board.state.last.info))
      assert(said[#said]:match('untrusted'), 'said: ' .. tostring(said[#said]))
    end)
    natmod.config.trusted = true
    board.state.port = nil
    if not ok then error(err, 0) end
  end)

  test(':NatmodBoard pick lists the ports (vim.ui.select), takes a typed path, and the statusline shows "qemu · armv7em · mpy 6.3"', function()
    assert(shown() == '', 'statusline before any pick: ' .. shown())
    local select, input, items = vim.ui.select, vim.ui.input, nil
    vim.ui.select = function(list, opts, choose)
      items = vim.tbl_map(opts.format_item, list)
      choose(list[#list])
    end
    vim.ui.input = function(_, done) done(port) end
    local ok, err = pcall(board_cmd, 'pick', 'info')
    vim.ui.select, vim.ui.input = select, input
    if not ok then error(err, 0) end
    assert(items and items[#items] == 'another path…', 'choices: ' .. vim.inspect(items))
    assert(board.state.port == port, 'port ' .. tostring(board.state.port))
    assert(shown() == 'qemu · armv7em · mpy 6.3', 'statusline: ' .. shown())
    out(string.format('    %d choices (%s); statusline: %s', #items, table.concat(items, ' | '), shown()))
  end)

  test(':NatmodBoard pick PORT reads the board again', function()
    board.state.summary = nil
    board_cmd('pick ' .. port, 'info')
    assert(shown() == 'qemu · armv7em · mpy 6.3', 'statusline: ' .. shown())
  end)

  test(':NatmodBoard check: the armv7m module loads, no diagnostic on the Makefile', function()
    local r = board_cmd('check', 'check')
    assert(r.ok == true and r.check.arch == 'armv7m', vim.inspect(r))
    assert(#vim.diagnostic.get(nil, { namespace = board.ns }) == 0, 'board diagnostics after a passing check')
  end)

  test(':NatmodBoard run in a .py buffer runs it on the board: it prints factorial(20)', function()
    vim.cmd.edit(vim.fn.fnameescape(ws .. '/try_board.py'))
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'import ' .. module, 'print(' .. module .. '.factorial(20))' })
    local r = board_cmd('run', 'run')
    vim.cmd.buffer(buf)
    assert(r.ok == true, vim.inspect(r))
    assert(r.run.output == FACTORIAL_20 .. '\n', 'output ' .. vim.inspect(r.run.output))
    assert(said[#said]:find(FACTORIAL_20, 1, true), 'notified: ' .. tostring(said[#said]))
    out(string.format('    board printed %q (first output after %s ms)', r.run.output, tostring(r.run.firstOutputMs)))
  end)

  test(':NatmodBoard run CODE imports the module and runs the code', function()
    local r = board_cmd('run print(' .. module .. '.fib(90))', 'run')
    assert(r.run.output == '2880067194370816120\n', 'output ' .. vim.inspect(r.run.output))
  end)

  test(':NatmodArch armv7emsp, rebuild, :NatmodBoard check: the mismatch is an error on the Makefile\'s ARCH line', function()
    local old = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1].id
    vim.cmd('NatmodArch armv7emsp')
    vim.wait(20000, function()
      local c = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
      return c ~= nil and c.id ~= old and c.initialized
    end, 20)
    os.remove(mpy)
    vim.cmd('NatmodRebuild')
    vim.wait(timeout, function() return mpy_arch() == 7 end, 50)
    assert(mpy_arch() == 7, module .. '.mpy (armv7emsp, arch code 7) not built: ' .. tostring(mpy_arch()))
    local r = board_cmd('check', 'check')
    assert(r.ok == false, vim.inspect(r))
    local arch_line
    for i, l in ipairs(vim.fn.readfile(makefile)) do
      if l:match('^ARCH%s*%?=') then arch_line = i - 1 end
    end
    local ds = vim.diagnostic.get(vim.fn.bufnr(makefile), { namespace = board.ns })
    assert(#ds == 1, 'board diagnostics: ' .. vim.inspect(ds))
    assert(ds[1].lnum == arch_line, string.format('diagnostic on line %d, ARCH is on %d', ds[1].lnum + 1, arch_line + 1))
    assert(ds[1].severity == vim.diagnostic.severity.ERROR, 'severity ' .. ds[1].severity)
    assert(ds[1].message:find('ARCH = armv7m', 1, true), ds[1].message)
    out(string.format('    Makefile:%d: %s', arch_line + 1, ds[1].message))
  end)
end

H.run_on_enter(run)
