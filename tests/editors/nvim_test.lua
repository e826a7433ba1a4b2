-- Headless Neovim test of editors/nvim against a natmod language server, on a copy of
-- editors/test-fixtures/printf_nm. Run by tests/editors/run-checks.sh:
--   nvim --headless -i NONE -n -u tests/editors/nvim_test.lua
-- env: NATMOD_PLUGIN_DIR (editors/nvim), NATMOD_LSP_CMD (server executable), NATMOD_WS (the
-- fixture copy), MPY_DIR, NATMOD_TEST_MODE (trusted | untrusted), NATMOD_TEST_TIMEOUT (s).
-- Prints "ok - ..." / "not ok - ..." per test and "N passed, N failed"; exit status 1 on failure.
local H = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local out, test = H.out, H.test
local env = vim.env
local timeout = tonumber(env.NATMOD_TEST_TIMEOUT or '60') * 1000
local ws, mode = env.NATMOD_WS, env.NATMOD_TEST_MODE or 'trusted'
local module = 'printf_nm'
local cfile, mpy = ws .. '/' .. module .. '.c', ws .. '/' .. module .. '.mpy'

local function read(path)
  local f = io.open(path, 'rb'); if not f then return nil end
  local s = f:read('*a'); f:close(); return s
end

local function printf_line(buf)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l:match('^%s*printf%(') then return i - 1 end
  end
  error('no printf( line in ' .. cfile)
end

local function describe(diags)
  local t = {}
  for _, d in ipairs(diags) do table.insert(t, string.format('%d:%d %s', d.lnum, d.col, d.message)) end
  return #t > 0 and table.concat(t, ' | ') or 'none'
end

local function mpy_header()
  local b = read(mpy)
  if b and #b > 4 and b:sub(1, 1) == 'M' then return b end
end

local function write_stale_mpy()
  local f = assert(io.open(mpy, 'w')); f:write('stale: not written by the server\n'); f:close()
end

local function run()
  vim.opt.rtp:prepend(env.NATMOD_PLUGIN_DIR)
  vim.cmd('runtime! plugin/natmod.lua')
  vim.cmd('filetype on')
  local natmod = require('natmod')
  natmod.setup({
    trusted = mode == 'trusted',
    cmd = { env.NATMOD_LSP_CMD },
    arch = 'x64',
    make_args = { 'MPY_DIR=' .. env.MPY_DIR },
  })
  vim.cmd.edit(vim.fn.fnameescape(cfile))
  local buf = vim.api.nvim_get_current_buf()
  out(string.format('nvim %s, mode %s, server %s, workspace %s', tostring(vim.version()), mode, env.NATMOD_LSP_CMD, ws))

  local client
  test('the plugin starts the natmod client (root: the Makefile with dynruntime.mk)', function()
    assert(vim.bo[buf].filetype == 'c', 'filetype ' .. vim.bo[buf].filetype)
    assert(natmod.find_root(cfile) == ws, 'find_root: ' .. tostring(natmod.find_root(cfile)))
    vim.wait(20000, function()
      local c = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
      return c ~= nil and c.initialized
    end, 20)
    client = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
    assert(client, 'no natmod client attached to ' .. cfile .. ' within 20s')
    assert(client.initialized, 'client not initialized within 20s')
    local info = client.server_info
    out('    server: ' .. (info and (info.name .. ' ' .. (info.version or '')) or '(no serverInfo)'))
    local io_opts = client.config.init_options or {}
    out('    initializationOptions: ' .. vim.json.encode(natmod.init_options(client.root_dir)))
    assert(natmod.init_options(client.root_dir).trusted == (mode == 'trusted'), 'trusted flag')
    assert(io_opts ~= nil)
  end)
  if not client then return end
  local line = printf_line(buf)

  if mode == 'untrusted' then
    test('untrusted: a save builds nothing and reports no link error', function()
      vim.api.nvim_buf_set_lines(buf, line, line + 1, false, { vim.api.nvim_buf_get_lines(buf, line, line + 1, false)[1] .. ' ' })
      vim.cmd('silent write')
      vim.wait(5000, function() return false end, 50)
      assert(read(mpy) == nil, module .. '.mpy was written in an untrusted project')
      assert(vim.fn.isdirectory(ws .. '/build') == 0, 'build/ was created in an untrusted project (make ran)')
      local errs = vim.tbl_filter(function(d) return d.message:match('printf') end, vim.diagnostic.get(buf))
      assert(#errs == 0, 'link diagnostics in an untrusted project: ' .. describe(errs))
      assert(natmod.statusline(buf):match('untrusted$'), 'statusline: ' .. natmod.statusline(buf))
    end)
    return
  end

  test(string.format('undefined symbol printf: an error diagnostic on line %d after :w', line + 1), function()
    vim.api.nvim_buf_set_lines(buf, line, line + 1, false, { vim.api.nvim_buf_get_lines(buf, line, line + 1, false)[1] .. ' ' })
    vim.cmd('silent write')
    local function hit()
      for _, d in ipairs(vim.diagnostic.get(buf)) do
        if d.message:match('%f[%w_]printf%f[^%w_]') then return d end
      end
    end
    vim.wait(timeout, function() return hit() ~= nil end, 50)
    local d = hit()
    assert(d, string.format('no diagnostic mentioning printf within %ds; diagnostics: %s', timeout / 1000, describe(vim.diagnostic.get(buf))))
    assert(d.lnum == line, string.format('printf diagnostic on line %d, expected %d: %s', d.lnum + 1, line + 1, describe(vim.diagnostic.get(buf))))
    assert(d.severity == vim.diagnostic.severity.ERROR, 'severity ' .. tostring(d.severity))
    assert(d.message:lower():match('undefined'), 'message: ' .. d.message)
    out(string.format('    diagnostic: %d:%d [%s] %s', d.lnum, d.col, d.source or '?', (d.message:gsub('\n.*', ''))))
  end)

  test('completion offers the natmod API (mp_obj_new_int)', function()
    assert(client.server_capabilities.completionProvider,
      'natmod-lsp does not advertise completionProvider: textDocument/completion (natmod API from dynruntime.h) is not implemented yet')
    local at = line + 1
    vim.api.nvim_buf_set_lines(buf, at, at, false, { '    mp_obj_new_' })
    local ok, err = pcall(function()
      local res, rerr = vim.lsp.buf_request_sync(buf, 'textDocument/completion', {
        textDocument = { uri = vim.uri_from_bufnr(buf) },
        position = { line = at, character = #'    mp_obj_new_' },
      }, 10000)
      assert(res, 'completion request failed: ' .. tostring(rerr))
      local labels, found = {}, nil
      for _, r in pairs(res) do
        assert(not r.err, 'completion error: ' .. vim.inspect(r.err))
        local items = r.result and (r.result.items or r.result) or {}
        for _, it in ipairs(items) do
          table.insert(labels, it.label)
          if it.label == 'mp_obj_new_int' or vim.startswith(it.label, 'mp_obj_new_int(') then found = it end
        end
      end
      assert(found, string.format('no mp_obj_new_int among %d completion items: %s', #labels,
        table.concat(vim.list_slice(labels, 1, 15), ', ')))
      out(string.format('    completion: %s (%d items) %s', found.label, #labels, found.detail or ''))
    end)
    vim.api.nvim_buf_set_lines(buf, at, at + 1, false, {})
    if not ok then error(err, 0) end
  end)

  test(':w of a fix rewrites ' .. module .. '.mpy (ABI 6.3, x64) and clears the diagnostic', function()
    write_stale_mpy()
    vim.api.nvim_buf_set_lines(buf, printf_line(buf), printf_line(buf) + 1, false,
      { '    mp_printf(&mp_plat_print, "answer(%d)\\n", (int)x);' })
    vim.cmd('silent write')
    vim.wait(timeout, function() return mpy_header() ~= nil end, 50)
    local b = mpy_header()
    assert(b, string.format('%s.mpy not rewritten within %ds after :w (still %q)', module, timeout / 1000, (read(mpy) or ''):sub(1, 40)))
    local v, flags = b:byte(2), b:byte(3)
    assert(string.format('%d.%d', v, flags % 4) == '6.3', string.format('.mpy ABI %d.%d', v, flags % 4))
    assert(math.floor(flags / 4) == 2, 'arch code ' .. math.floor(flags / 4) .. ', expected 2 (x64)')
    vim.wait(math.min(15000, timeout), function() return #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }) == 0 end, 50)
    local left = vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })
    assert(#left == 0, 'errors left after the fix: ' .. describe(left))
    out(string.format('    %s.mpy: %d bytes', module, #b))
  end)

  test('statusline: arch, .mpy ABI 6.3 and build state', function()
    vim.wait(math.min(10000, timeout), function() return natmod.statusline(buf):match(' · ok$') ~= nil end, 50)
    local s = natmod.statusline(buf)
    assert(s == 'natmod x64 · mpy 6.3 · ok', 'statusline: ' .. s)
    out('    statusline: ' .. s)
  end)

  test(':NatmodRebuild recreates a deleted ' .. module .. '.mpy', function()
    os.remove(mpy)
    vim.cmd('NatmodRebuild')
    vim.wait(timeout, function() return mpy_header() ~= nil end, 50)
    assert(mpy_header(), module .. '.mpy not rebuilt within ' .. timeout / 1000 .. 's of :NatmodRebuild')
  end)

  test(':checkhealth natmod runs natmod-lsp doctor for the project', function()
    vim.cmd('checkhealth natmod')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('tabclose')
    assert(text:match('OK server: '), text)
    assert(text:match('OK MPY_DIR '), text)
    assert(text:match('OK make: '), text)
    assert(text:match('OK x64: '), text)
  end)

  test(':NatmodArch armv6m restarts the server with arch=armv6m; the rebuilt .mpy is armv6m', function()
    local old = client.id
    vim.cmd('NatmodArch armv6m')
    vim.wait(20000, function()
      local c = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
      return c ~= nil and c.id ~= old and c.initialized
    end, 20)
    local c = vim.lsp.get_clients({ bufnr = buf, name = 'natmod' })[1]
    assert(c and c.id ~= old, 'no new natmod client after :NatmodArch')
    assert(natmod.init_options(c.root_dir).arch == 'armv6m', 'init_options ' .. vim.json.encode(natmod.init_options(c.root_dir)))
    write_stale_mpy()
    vim.cmd('NatmodRebuild')
    vim.wait(timeout, function() local b = mpy_header(); return b ~= nil and math.floor(b:byte(3) / 4) == 4 end, 50)
    local b = mpy_header()
    assert(b, module .. '.mpy not rebuilt for armv6m within ' .. timeout / 1000 .. 's (needs arm-none-eabi-gcc)')
    assert(math.floor(b:byte(3) / 4) == 4, 'arch code ' .. math.floor(b:byte(3) / 4) .. ', expected 4 (armv6m)')
    assert(natmod.statusline(buf):match('^natmod armv6m'), 'statusline: ' .. natmod.statusline(buf))
  end)
end

H.run_on_enter(run)
