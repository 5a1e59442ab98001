-- init.lua
vim.opt.number = true
require("plugins")
