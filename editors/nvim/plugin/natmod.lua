-- natmod.nvim commands. The LSP client itself starts only after require('natmod').setup{...}.
if vim.g.loaded_natmod then return end
vim.g.loaded_natmod = true

vim.api.nvim_create_user_command('NatmodRebuild', function()
  require('natmod').rebuild(0)
end, { desc = 'natmod-lsp: rebuild the .mpy of this project' })

vim.api.nvim_create_user_command('NatmodArch', function(a)
  require('natmod').set_arch(a.args)
end, {
  nargs = '?',
  desc = 'natmod-lsp: set the target ARCH ("default": the Makefile\'s) and restart the server',
  complete = function(lead)
    return vim.tbl_filter(function(x) return vim.startswith(x, lead) end,
      vim.list_extend({ 'default' }, vim.deepcopy(require('natmod').archs)))
  end,
})

vim.api.nvim_create_user_command('NatmodRestart', function()
  require('natmod').restart()
end, { desc = 'natmod-lsp: restart the language server' })

vim.api.nvim_create_user_command('NatmodBoard', function(a)
  local sub, rest = a.args:match('^%s*(%S*)%s*(.-)%s*$')
  local board = require('natmod.board')
  local fn = board.subcommands[sub]
  if not fn then
    return vim.notify('natmod: :NatmodBoard pick [port] | info | check | run [code] | deploy [dir]', vim.log.levels.ERROR)
  end
  fn(rest)
end, {
  nargs = '+',
  desc = 'natmod-lsp: the MicroPython board (pick [port], info, check, run [code], deploy [dir])',
  complete = function(lead, line)
    if line:match('^%s*%S+%s+%S+%s') then return {} end
    return vim.tbl_filter(function(x) return vim.startswith(x, lead) end, { 'pick', 'info', 'check', 'run', 'deploy' })
  end,
})
