/* Schedules: durations, cron parsing (with its error messages) and
 * cron_next in UTC, including month ends, leap days and the classic
 * day-of-month / day-of-week OR rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "schedule.h"

/* "YYYY-MM-DD HH:MM" in UTC. */
static time_t utc(const char *s)
{
    struct tm tm = {0};
    int n = sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min);
    assert_int_equal(n, 5);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void expect_duration(const char *s, long want)
{
    char err[256] = "";
    long got = schedule_parse_duration(s, err, sizeof err);
    if (got != want)
        fail_msg("duration \"%s\": got %ld (%s), want %ld", s, got, err, want);
}

static void expect_duration_error(const char *s, const char *want)
{
    char err[256] = "";
    assert_int_equal(schedule_parse_duration(s, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_durations(void **state)
{
    (void)state;
    expect_duration("6h", 21600);
    expect_duration("90s", 90);
    expect_duration("1h30m", 5400);
    expect_duration("2d", 172800);
    expect_duration("1d2h3m4s", 93784);
}

static void test_duration_errors(void **state)
{
    (void)state;
    expect_duration_error("", "empty duration (write e.g. 90s, 6h, 1h30m)");
    expect_duration_error("6", "bad duration \"6\": missing unit after 6 "
                               "(use s, m, h or d)");
    expect_duration_error("6x", "bad duration \"6x\": unknown unit 'x' (use "
                                "s, m, h or d)");
    expect_duration_error("h", "bad duration \"h\": expected a number at "
                               "\"h\" (write e.g. 90s, 6h, 1h30m)");
    expect_duration_error("-5m", "bad duration \"-5m\": expected a number "
                                 "at \"-5m\" (write e.g. 90s, 6h, 1h30m)");
    expect_duration_error("0s", "bad duration \"0s\": must be positive");
    expect_duration_error("99999999999999999999s",
                          "bad duration \"99999999999999999999s\": too large");
}

static void expect_cron_error(const char *expr, const char *want)
{
    struct cron_expr c;
    char err[256] = "";
    assert_int_equal(cron_parse(expr, &c, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_cron_errors(void **state)
{
    (void)state;
    expect_cron_error("* 25 * * *", "field 2 (hour): 25 is out of range 0-23");
    expect_cron_error("* * *", "expected 5 fields (minute hour day-of-month "
                               "month day-of-week), got 3");
    expect_cron_error("* * * * * *", "expected 5 fields (minute hour "
                                     "day-of-month month day-of-week), got 6");
    expect_cron_error("", "expected 5 fields (minute hour day-of-month month "
                          "day-of-week), got 0");
    expect_cron_error("*/0 * * * *",
                      "field 1 (minute): step 0 is out of range 1-59");
    expect_cron_error("5-1 * * * *",
                      "field 1 (minute): range 5-1 goes backwards");
    expect_cron_error("* * 0 * *",
                      "field 3 (day-of-month): 0 is out of range 1-31");
    expect_cron_error("* * * foo *", "field 4 (month): unexpected \"foo\"");
    expect_cron_error("* * * * 8",
                      "field 5 (day-of-week): 8 is out of range 0-7");
    expect_cron_error("1,,2 * * * *",
                      "field 1 (minute): empty list item in \"1,,2\"");
    expect_cron_error("1x * * * *",
                      "field 1 (minute): unexpected \"x\" in \"1x\"");
    expect_cron_error("*/ * * * *",
                      "field 1 (minute): expected a number after '/'");
}

static void test_cron_fields(void **state)
{
    struct cron_expr c;
    char err[256];
    (void)state;
    assert_int_equal(cron_parse("*/15 * * * *", &c, err, sizeof err), 0);
    assert_true(c.minutes ==
                ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    assert_int_equal(c.hours, 0xffffff);
    assert_true(c.mday_star && c.wday_star);

    assert_int_equal(
        cron_parse("0 9-17/4 1,15 JAN-mar mon-fri", &c, err, sizeof err), 0);
    assert_int_equal(c.hours, (1u << 9) | (1u << 13) | (1u << 17));
    assert_int_equal(c.mdays, (1u << 1) | (1u << 15));
    assert_int_equal(c.months, (1u << 1) | (1u << 2) | (1u << 3));
    assert_int_equal(c.wdays, 0x3e);
    assert_false(c.mday_star || c.wday_star);

    /* 7 is Sunday, a range through 7 wraps onto bit 0 */
    assert_int_equal(cron_parse("0 0 * * 5-7", &c, err, sizeof err), 0);
    assert_int_equal(c.wdays, (1u << 0) | (1u << 5) | (1u << 6));
    /* "a/n" runs from a to the end of the range */
    assert_int_equal(cron_parse("50/5 * * * *", &c, err, sizeof err), 0);
    assert_true(c.minutes == ((1ull << 50) | (1ull << 55)));
    assert_int_equal(cron_parse("@daily", &c, err, sizeof err), 0);
    assert_true(c.minutes == 1 && c.hours == 1);
}

static void expect_next(const char *expr, const char *after, const char *want)
{
    struct cron_expr c;
    char err[256], got_s[32] = "none";
    assert_int_equal(cron_parse(expr, &c, err, sizeof err), 0);
    time_t got = cron_next(&c, utc(after));
    if (got != (time_t)-1) {
        struct tm tm;
        gmtime_r(&got, &tm);
        strftime(got_s, sizeof got_s, "%Y-%m-%d %H:%M", &tm);
    }
    if (strcmp(got_s, want) != 0)
        fail_msg("cron \"%s\" after %s: got %s, want %s", expr, after, got_s,
                 want);
}

static void test_cron_next_basic(void **state)
{
    (void)state;
    /* strictly after, also when `after` is on a matching minute */
    expect_next("*/15 * * * *", "2024-01-01 00:00", "2024-01-01 00:15");
    expect_next("*/15 * * * *", "2024-01-01 00:07", "2024-01-01 00:15");
    expect_next("*/15 * * * *", "2024-01-01 23:50", "2024-01-02 00:00");
    expect_next("30 2 * * *", "2024-03-10 02:30", "2024-03-11 02:30");
    expect_next("@hourly", "2024-01-01 10:59", "2024-01-01 11:00");
}

static void test_cron_next_month_edges(void **state)
{
    (void)state;
    expect_next("0 0 1 * *", "2024-01-31 12:00", "2024-02-01 00:00");
    expect_next("0 0 31 * *", "2024-04-01 00:00", "2024-05-31 00:00");
    expect_next("0 0 29 2 *", "2023-03-01 00:00", "2024-02-29 00:00");
    expect_next("30 23 31 12 *", "2024-12-31 23:30", "2025-12-31 23:30");
    expect_next("0 12 * jun *", "2024-07-01 00:00", "2025-06-01 12:00");
    /* never matches: February 30th */
    expect_next("0 0 30 2 *", "2024-01-01 00:00", "none");
}

static void test_cron_next_dom_dow(void **state)
{
    (void)state;
    /* both restricted: the 13th OR any Friday (2024-01-05 is a Friday) */
    expect_next("0 12 13 * fri", "2024-01-01 00:00", "2024-01-05 12:00");
    expect_next("0 12 13 * fri", "2024-01-12 12:00", "2024-01-13 12:00");
    /* only one restricted: that one decides */
    expect_next("0 12 * * fri", "2024-01-01 00:00", "2024-01-05 12:00");
    expect_next("0 12 13 * *", "2024-01-01 00:00", "2024-01-13 12:00");
    /* "*\/2" counts as '*' (Vixie cron): odd days AND Mondays */
    expect_next("0 0 */2 * mon", "2023-12-31 12:00", "2024-01-01 00:00");
    expect_next("0 0 */2 * mon", "2024-01-01 00:00", "2024-01-15 00:00");
    /* 7 is Sunday; 2024-01-07 is a Sunday */
    expect_next("0 0 * * 7", "2024-01-01 00:00", "2024-01-07 00:00");
}

static void test_schedule_next(void **state)
{
    struct schedule s = {0};
    char err[256];
    (void)state;
    assert_int_equal(schedule_next(&s, 1000), (time_t)-1);
    s.kind = SCHEDULE_EVERY;
    s.every_seconds = 3600;
    assert_int_equal(schedule_next(&s, 1000), 4600);
    s.kind = SCHEDULE_CRON;
    assert_int_equal(cron_parse("0 * * * *", &s.cron, err, sizeof err), 0);
    assert_int_equal(schedule_next(&s, utc("2024-01-01 10:20")),
                     utc("2024-01-01 11:00"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_duration_errors),
        cmocka_unit_test(test_cron_errors),
        cmocka_unit_test(test_cron_fields),
        cmocka_unit_test(test_cron_next_basic),
        cmocka_unit_test(test_cron_next_month_edges),
        cmocka_unit_test(test_cron_next_dom_dow),
        cmocka_unit_test(test_schedule_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
