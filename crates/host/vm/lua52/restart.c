/* Restarting a stopped frame, as on 5.3 (the same frames and patch). */
#include "../lua53/restart.c"
