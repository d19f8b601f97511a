#include "capture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

static int saved_stderr = -1;
static FILE *capture_file;

void stderr_capture_begin(void)
{
    capture_file = tmpfile();
    assert_non_null(capture_file);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

static void restore(void)
{
    if (saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
}

char *stderr_capture_end(void)
{
    restore();
    long n = ftell(capture_file);
    assert_true(n >= 0);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    rewind(capture_file);
    assert_int_equal(fread(buf, 1, (size_t)n, capture_file), (size_t)n);
    fclose(capture_file);
    capture_file = NULL;
    return buf;
}

void stderr_capture_abort(void)
{
    restore();
    if (capture_file) {
        fclose(capture_file);
        capture_file = NULL;
    }
}
