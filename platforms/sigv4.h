/* sigv4: AWS Signature Version 4, the Authorization header every AWS API
 * call carries (header signing only; no presigned URLs, no chunked
 * payloads). Checked against AWS's official test vectors
 * (tests/unit/test_sigv4.c) and against botocore on Lambda-style requests
 * (tests/aws).
 *
 * Paths: PATH is the path as it goes on the wire. For every service but S3
 * (Lambda included) the canonical URI percent-encodes that wire path once
 * more, segment by segment, so a function ARN sent as `arn%3Aaws%3A...`
 * (sigv4_uri_encode of the name, as the SDKs send it) is signed as
 * `arn%253Aaws%253A...`; set double_encode_path and normalize_path for them.
 * S3 signs its (encoded) key once and never normalizes.
 *
 * Secrets: the secret key, the keys derived from it and the session token
 * live only in memory that is wiped before it is released; no error message
 * holds any of them. */
#ifndef FAASET_SIGV4_H
#define FAASET_SIGV4_H

#include <stddef.h>

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;      /* NULL or "" when the credentials have none */
};

struct sigv4_request {
    const char *method;             /* "GET", "POST", ... (upper case) */
    /* Either URL ("https://host[:port]/path[?query]"; the host header is
     * derived from it as the SDKs do: lower case, default port dropped) ... */
    const char *url;
    /* ... or HOST (the Host header's value, with :port when not the
     * default), PATH ("/..." as sent; "" means "/") and QUERY (raw, without
     * '?', NULL or "" for none). Ignored when URL is set. */
    const char *host;
    const char *path;
    const char *query;
    /* Further headers to sign, "Name: value", NULL-terminated, or NULL;
     * normally the same list the request is sent with. As with the HTTP
     * engine (http.h), "Name:" with no value is a header the engine removes,
     * so it is not signed, and "Name;" is an empty header. Values are
     * signed trimmed, inner runs of blanks made one space (obs-fold line
     * continuations allowed), repeated names joined with commas in order.
     * Headers that proxies and HTTP libraries rewrite (User-Agent, Expect,
     * Connection, Transfer-Encoding, ... as in the SDKs) are not signed.
     * Host, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256 and
     * Authorization are the signer's own: giving one is an error. */
    const char *const *headers;
    const void *body;               /* NULL with size 0 for none */
    size_t body_size;
    const char *region;             /* "us-east-1" */
    const char *service;            /* "lambda" */
    const char *amz_date;           /* "20150830T123600Z"; NULL = now (UTC) */
    int double_encode_path;         /* 1 for every service but S3 */
    int normalize_path;             /* 1 for every service but S3: drop "." and "..", collapse "//" */
    int sign_content_sha256;        /* 1 adds X-Amz-Content-SHA256 (S3); 0 for Lambda */
    /* 1 sends the session token without signing it (older services; the
     * post-sts-header-after test vector). 0 for Lambda and nearly all. */
    int token_after_signing;
};

#define SIGV4_MAX_HEADERS 5

struct sigv4_result {
    /* Headers to add to the request, "Name: value", NULL-terminated:
     * X-Amz-Date, X-Amz-Security-Token (with a token), X-Amz-Content-SHA256
     * (when asked), Authorization. */
    char *headers[SIGV4_MAX_HEADERS];
    const char *authorization;      /* the Authorization value, inside headers[] */
    /* For tests and debugging. The canonical request holds the session
     * token when one is signed: do not log it as it is. */
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;           /* "host;x-amz-date;..." */
    char signature[65];             /* lower-case hex */
    char amz_date[17];
    char payload_sha256[65];
};

/* Signs REQUEST with CREDENTIALS. Returns 0 with OUT filled, or -1 with ERR
 * (OUT then needs no freeing, though freeing it is harmless). Errors: a
 * missing field, a header given that the signer adds, a malformed header
 * or date, out of memory. */
int sigv4_sign(const struct sigv4_request *request, const struct sigv4_credentials *credentials,
               struct sigv4_result *out, char *err, size_t err_size);

/* Frees what sigv4_sign filled (wiping the session token) and zeroes OUT. */
void sigv4_result_free(struct sigv4_result *out);

/* S percent-encoded as SigV4 wants: A-Z a-z 0-9 - . _ ~ kept, every other
 * byte %XX (upper-case hex), '/' kept when KEEP_SLASH. For building paths
 * and queries: a function name in a Lambda path is sigv4_uri_encode(name, 0).
 * Returns a malloc'd string, or NULL when out of memory. */
char *sigv4_uri_encode(const char *s, int keep_slash);

/* The Host header value the SDKs derive from URL: the host in lower case
 * (IPv6 in brackets), with ":port" unless it is the scheme's default.
 * Returns 0, or -1 when URL is not http(s)://host... or HOST is too small. */
int sigv4_host_from_url(const char *url, char *host, size_t host_size);

#endif
