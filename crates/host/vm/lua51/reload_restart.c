/* The native backend's restart note, as on 5.3. */
#include "../lua53/reload_restart.c"
