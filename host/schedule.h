/*
 * Run schedules: `every: 6h` (units s, m, h, d, combinable: 1h30m) or a
 * 5-field cron expression (minute hour day-of-month month day-of-week,
 * with *, lists, ranges, steps, and jan..dec / sun..sat names), in UTC.
 */
#ifndef HOST_SCHEDULE_H
#define HOST_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum schedule_kind { SCHEDULE_NONE = 0, SCHEDULE_EVERY, SCHEDULE_CRON };

struct cron_expr {
    uint64_t minutes; /* bit n set: minute n */
    uint32_t hours;   /* bits 0..23 */
    uint32_t mdays;   /* bits 1..31 */
    uint16_t months;  /* bits 1..12 */
    uint8_t wdays;    /* bits 0..6, Sunday 0 (7 accepted as Sunday) */
    bool mday_star;   /* day-of-month was '*' (cron's OR rule) */
    bool wday_star;
};

struct schedule {
    enum schedule_kind kind;
    long every_seconds;
    struct cron_expr cron;
    char text[128]; /* as written, for display */
};

/* "6h", "90s", "1h30m", "2d".  Returns seconds > 0, or -1 with err set. */
long schedule_parse_duration(const char *s, char *err, unsigned long errlen);
/* Returns 0, or -1 with err naming the field ("field 2 (hour): 25 is out of
 * range 0-23"). */
int cron_parse(const char *s, struct cron_expr *out, char *err,
               unsigned long errlen);
/* The first time strictly after `after` that matches, or (time_t)-1 if none
 * within 5 years. */
time_t cron_next(const struct cron_expr *c, time_t after);
/* Next fire time after `after` for any schedule kind; -1 for SCHEDULE_NONE. */
time_t schedule_next(const struct schedule *s, time_t after);

#endif
