//! The cdylib Neovim loads.
