/*
 * OpenMetadata webhook deliveries: the signature check and the reading of
 * one ChangeEvent (OpenMetadata's type/changeEvent.json) into what the
 * daemon acts on.  No I/O and no global state: the master's HTTP handler
 * (master_api.c) calls these on its loop thread, tests call them directly.
 *
 * Signature: OpenMetadata sends `X-OM-Signature: sha256=<S>` where S is the
 * standard Base64 (with padding) of HMAC-SHA256(secret, raw body bytes).
 */
#ifndef HOST_WEBHOOK_H
#define HOST_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_SIGNATURE_HEADER "X-OM-Signature"

/* Standard Base64 with '=' padding of in[0..n) into out, NUL-terminated.
 * Returns the length written, or 0 (out set to "") when outlen is smaller
 * than 4 * ceil(n / 3) + 1. */
size_t base64_encode(const unsigned char *in, size_t n, char *out,
                     size_t outlen);

/* Checks `header` (the X-OM-Signature value, NULL when absent) against
 * the body under `secret`.  The comparison takes the same time whatever
 * the first differing byte.  Returns 0 when it matches, else -1 with a
 * reason in why that never quotes the secret or the expected value. */
int webhook_check_signature(const char *secret, const char *body,
                            size_t body_len, const char *header, char *why,
                            size_t whylen);

enum webhook_verdict {
    WEBHOOK_MALFORMED = -1, /* not a ChangeEvent: why names the field */
    WEBHOOK_IGNORED = 0,    /* valid, nothing to do: why says so */
    WEBHOOK_ACCEPTED = 1    /* a table to sync: ev is filled */
};

/* What an accepted event asks for.  Strings point into the struct. */
struct webhook_event {
    char id[40]; /* the ChangeEvent's id */
    char event_type[48];
    char entity_id[40]; /* the table's id (uuid) */
    char fqn[1024];     /* entityFullyQualifiedName, "" when absent */
    char user_name[256];
    int64_t timestamp_ms;
    const char *event; /* "created", "updated" or "deleted" */
};

/* Reads one ChangeEvent from body[0..len).  `bot_name` (may be NULL or "")
 * is the daemon's own OpenMetadata user: its events are ignored, so that
 * the daemon's writes do not trigger work again. */
enum webhook_verdict webhook_read_event(const char *body, size_t len,
                                        const char *bot_name,
                                        struct webhook_event *ev, char *why,
                                        size_t whylen);

#endif
