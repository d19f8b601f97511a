/* Test helper: capture what the code under test writes to stderr (log
 * lines).  One capture at a time, single-threaded use. */
#ifndef TESTS_CAPTURE_H
#define TESTS_CAPTURE_H

/* Redirects stderr into a temporary file. */
void stderr_capture_begin(void);
/* Restores stderr and returns what was written since begin (malloc'd). */
char *stderr_capture_end(void);
/* Restores stderr and drops the capture, if one is running: for teardown
 * after a failed assertion longjmp'd out of a test mid-capture, so that
 * cmocka's report stays visible. */
void stderr_capture_abort(void);

#endif
