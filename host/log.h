/*
 * Logging: one line per event on stderr, text or JSON, with level, process
 * role, pass and entity FQN when the event is about one.  Every line passes
 * through redaction: registered secrets and DSN/URL passwords become "***".
 * Thread-safe: a line is formatted into a buffer and written with one
 * write(2).
 */
#ifndef HOST_LOG_H
#define HOST_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG = 10, LOG_INFO = 20, LOG_WARN = 30, LOG_ERROR = 40 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Called once from main before any thread starts. role is "master",
 * "worker", "cli"...; generation 0 means none. */
void log_setup(enum log_format format, enum log_level min_level,
               const char *role, int generation);
/* Parses "text"/"json" and "debug"/"info"/"warn"/"error"; -1 if unknown. */
int log_parse_format(const char *s);
int log_parse_level(const char *s);
bool log_enabled(enum log_level level);

/* Registers a secret to redact (copied; strings shorter than 4 bytes are
 * ignored to avoid redacting everything).  Any thread. */
void log_add_secret(const char *secret);

/* Redacts `in` into out (always NUL-terminated, truncated to outlen):
 * registered secrets, password=... in libpq conninfo, and user:pass@ in
 * URLs.  Exposed for tests and for printing DSNs. */
void log_redact(const char *in, char *out, unsigned long outlen);

/* Formats a message into out (NUL-terminated, truncated to outlen) and
 * redacts it as log_redact does: for error texts that may quote a DSN or
 * a URL.  Returns `code`, so callers can `return log_redactf(...)`. */
int log_redactf(char *out, unsigned long outlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* pass and entity may be NULL. */
void log_event(enum log_level level, const char *pass, const char *entity,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_eventv(enum log_level level, const char *pass, const char *entity,
                const char *fmt, va_list ap);

#define log_debug(...) log_event(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_event(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_event(LOG_WARN, NULL, NULL, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, NULL, NULL, __VA_ARGS__)

#endif
