/*
** The host's in-place swap (vm/luajit/reload_swap.c), compiled unchanged
** for a stock LuaJIT: its two internal calls are served by this folder
** (stock.h) instead of LuaJIT's hidden functions. Only reached after the
** layout check (layout.c) passed.
*/
#include "stock.h"

#undef lj_gc_objbarrier
#define lj_gc_objbarrier(L, o, v) HR_STOCK_BARRIER(L, o, v)
#define lj_func_newL_empty(L, pt, env) hr_stock_vessel(L, pt, env)
#define hotreload_inplace_swap hr_stock_swap_open

#include "reload_swap.c"
