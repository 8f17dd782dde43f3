/*
 * Restarting a stopped frame: refused on this VM, as on 5.3 and 5.2.
 */
#include "../lua53/restart.c"
