/*
 * The program's C standard streams, captured below Lua: `stdout` and
 * `stderr` become streams whose bytes go straight to the host (io.rs) in
 * the order the program writes them, so print, io.write, io.stderr:write
 * and C modules' printf keep their order relative to each other and to
 * stops. The standard libraries keep their stock C functions; they write
 * through these streams as they would through a terminal's (stdout line
 * buffered, stderr unbuffered). Raw writes to fds 1 and 2 (child processes)
 * still reach the host through its pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/types.h>

typedef ssize_t (*hr_output_fn)(int category, const char *buf, size_t len);
static hr_output_fn output_fn = NULL;

static ssize_t cookie_write(void *cookie, const char *buf, size_t len) {
  int category = (int)(size_t)cookie;
  if (output_fn == NULL) return (ssize_t)len;
  return output_fn(category, buf, len);
}

/* Seeking a pipe fails; so does seeking these streams, with the same error. */
static int cookie_seek(void *cookie, off64_t *offset, int whence) {
  (void)cookie; (void)offset; (void)whence;
  errno = ESPIPE;
  return -1;
}

/* Makes `stdout` (category 1) and `stderr` (category 2) hand their bytes to
 * `fn`. Returns 0, or -1 when a stream cannot be made. */
int hr_capture_stdio(hr_output_fn fn) {
  cookie_io_functions_t io = {NULL, cookie_write, cookie_seek, NULL};
  FILE *out = fopencookie((void *)(size_t)1, "w", io);
  FILE *err = fopencookie((void *)(size_t)2, "w", io);
  if (out == NULL || err == NULL) return -1;
  setvbuf(out, NULL, _IOLBF, BUFSIZ);
  setvbuf(err, NULL, _IONBF, 0);
  output_fn = fn;
  stdout = out;
  stderr = err;
  return 0;
}
