-- The small harness the headless Neovim tests share (nvim_test.lua, nvim_board_test.lua): named
-- tests printing "ok - " / "not ok - " lines, and a runner that runs them on VimEnter, prints
-- "N passed, N failed" and exits non-zero on a failure.
local H = { passed = 0, failed = 0 }

--- Writes a line to stdout.
function H.out(s) io.stdout:write(s .. '\n') end

--- Runs one named test; an error fails it (and the run goes on).
function H.test(name, fn)
  local t0 = vim.uv.hrtime()
  local ok, err = pcall(fn)
  local ms = math.floor((vim.uv.hrtime() - t0) / 1e6)
  if ok then H.passed = H.passed + 1; H.out(string.format('ok - %s (%d ms)', name, ms))
  else H.failed = H.failed + 1; H.out(string.format('not ok - %s (%d ms)\n    %s', name, ms, tostring(err))) end
end

--- Runs `run` once Neovim has started, then quits (status 1 on a failure or no test passed).
function H.run_on_enter(run)
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    nested = true, -- so :edit inside fires BufRead/FileType (filetype detection, vim.lsp.enable)
    callback = function()
      local ok, err = pcall(run)
      if not ok then H.failed = H.failed + 1; H.out('not ok - harness: ' .. tostring(err)) end
      H.out(string.format('%d passed, %d failed', H.passed, H.failed))
      for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end
      vim.cmd(H.failed == 0 and H.passed > 0 and 'qall!' or 'cquit 1')
    end,
  })
end

return H
