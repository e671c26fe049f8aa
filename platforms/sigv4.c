/* sigv4: AWS Signature Version 4 (see sigv4.h).
 *
 * The four steps of the specification, each in its own function: the
 * canonical request (method, canonical URI, canonical query, canonical
 * headers, signed header names, payload hash), the string to sign (date,
 * scope, hash of the canonical request), the signing key (an HMAC chain
 * from "AWS4" + secret through date, region, service and "aws4_request"),
 * and the signature (HMAC of the string to sign, in hex).
 *
 * Crypto is libsodium's SHA-256 and HMAC-SHA-256: the project links it
 * already and chose it over OpenSSL for its small memory footprint.
 *
 * Every text is built in a growing buffer that wipes its old copy when it
 * grows and its contents when it is freed, so the secret key, the keys
 * derived from it and the session token never stay behind in freed memory.
 * Error messages name the field at fault, never its value. */
#include "sigv4.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* ---- a growing byte buffer that never leaves copies behind ---- */

struct sigv4_buf {
    char *data;
    size_t len, cap;
    int failed;
};

static void sigv4_buf_free(struct sigv4_buf *b)
{
    if (b->data != NULL) {
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

static int sigv4_buf_reserve(struct sigv4_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *grown = malloc(cap); /* not realloc: the old copy must be wiped */
    if (grown == NULL) {
        b->failed = 1;
        return -1;
    }
    if (b->data != NULL) {
        memcpy(grown, b->data, b->len);
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static void sigv4_put(struct sigv4_buf *b, const void *data, size_t size)
{
    if (sigv4_buf_reserve(b, size) < 0)
        return;
    if (size > 0)
        memcpy(b->data + b->len, data, size);
    b->len += size;
    b->data[b->len] = '\0';
}

static void sigv4_puts(struct sigv4_buf *b, const char *s)
{
    sigv4_put(b, s, strlen(s));
}

static void sigv4_putc(struct sigv4_buf *b, char c)
{
    sigv4_put(b, &c, 1);
}

/* The buffer's text, now the caller's (NULL if anything failed). */
static char *sigv4_buf_take(struct sigv4_buf *b)
{
    if (b->failed || sigv4_buf_reserve(b, 0) < 0) {
        sigv4_buf_free(b);
        return NULL;
    }
    b->data[b->len] = '\0';
    char *text = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return text;
}

static void sigv4_wipe_free(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* ---- percent-encoding ---- */

static int sigv4_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static void sigv4_encode(struct sigv4_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sigv4_unreserved(c) || (keep_slash && c == '/')) {
            sigv4_putc(b, (char)c);
        } else {
            char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            sigv4_put(b, escaped, 3);
        }
    }
}

static int sigv4_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* S (N bytes) percent-decoded, then encoded the canonical way: a
 * pre-encoded value and a raw one give the same text. A '%' not followed
 * by two hex digits is taken literally; '+' is a plus sign, not a space. */
static void sigv4_reencode(struct sigv4_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && n - i >= 3 && sigv4_hex_value(s[i + 1]) >= 0 && sigv4_hex_value(s[i + 2]) >= 0) {
            char decoded = (char)(sigv4_hex_value(s[i + 1]) * 16 + sigv4_hex_value(s[i + 2]));
            sigv4_encode(b, &decoded, 1, 0);
            i += 2;
        } else {
            sigv4_encode(b, &c, 1, 0);
        }
    }
}

char *sigv4_uri_encode(const char *s, int keep_slash)
{
    if (s == NULL)
        return NULL;
    struct sigv4_buf b = {0};
    sigv4_put(&b, "", 0);
    sigv4_encode(&b, s, strlen(s), keep_slash);
    return sigv4_buf_take(&b);
}

/* ---- URL ---- */

struct sigv4_url {
    char host[300];
    const char *path;   /* into the URL */
    size_t path_len;
    const char *query;  /* into the URL, NULL if none */
    size_t query_len;
};

static int sigv4_parse_url(const char *url, struct sigv4_url *out)
{
    int https;
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        https = 0;
        p = url + 7;
    } else {
        return -1;
    }
    size_t authority_len = strcspn(p, "/?#");
    const char *authority = p;
    for (size_t i = 0; i < authority_len; i++) /* user:password@ is not part of the host */
        if (p[i] == '@')
            authority = p + i + 1;
    const char *end = p + authority_len;
    const char *host = authority, *host_end, *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL)
            return -1;
        host_end = close + 1;
        if (host_end < end) {
            if (*host_end != ':')
                return -1;
            port = host_end + 1;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        host_end = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    if (host_end == host)
        return -1;
    long port_number = -1;
    if (port != NULL && port < end) {
        port_number = 0;
        for (const char *d = port; d < end; d++) {
            if (*d < '0' || *d > '9' || port_number > 65535)
                return -1;
            port_number = port_number * 10 + (*d - '0');
        }
        if (port_number > 65535)
            return -1;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len + 7 > sizeof out->host)
        return -1;
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == 0x7F)
            return -1;
        out->host[i] = (char)tolower(c);
    }
    out->host[host_len] = '\0';
    if (port_number >= 0 && port_number != (https ? 443 : 80))
        snprintf(out->host + host_len, sizeof out->host - host_len, ":%ld", port_number);
    const char *rest = end;
    out->path = rest;
    out->path_len = strcspn(rest, "?#");
    out->query = NULL;
    out->query_len = 0;
    if (rest[out->path_len] == '?') {
        out->query = rest + out->path_len + 1;
        out->query_len = strcspn(out->query, "#");
    }
    return 0;
}

int sigv4_host_from_url(const char *url, char *host, size_t host_size)
{
    struct sigv4_url parsed;
    if (url == NULL || host == NULL || sigv4_parse_url(url, &parsed) < 0)
        return -1;
    size_t n = strlen(parsed.host);
    if (n + 1 > host_size)
        return -1;
    memcpy(host, parsed.host, n + 1);
    return 0;
}

/* ---- canonical URI ---- */

struct sigv4_span {
    const char *s;
    size_t n;
};

static int sigv4_canonical_uri(struct sigv4_buf *b, const char *path, size_t len, int double_encode, int normalize)
{
    if (len == 0) {
        sigv4_putc(b, '/');
        return 0;
    }
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
        count += path[i] == '/';
    struct sigv4_span *segments = calloc(count, sizeof *segments);
    if (segments == NULL)
        return -1;
    size_t kept = 0;
    const char *start = path;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        struct sigv4_span segment = {start, (size_t)(path + i - start)};
        start = path + i + 1;
        if (segment.s == path && segment.n == 0)
            continue; /* before the leading '/' */
        if (normalize) {
            if (segment.n == 0 || (segment.n == 1 && segment.s[0] == '.'))
                continue;
            if (segment.n == 2 && segment.s[0] == '.' && segment.s[1] == '.') {
                if (kept > 0)
                    kept--;
                continue;
            }
        }
        segments[kept++] = segment;
    }
    /* Without normalizing, the last "segment" after a trailing '/' is the
     * empty one and the join below puts the '/' back. */
    sigv4_putc(b, '/');
    for (size_t i = 0; i < kept; i++) {
        if (i > 0)
            sigv4_putc(b, '/');
        if (double_encode)
            sigv4_encode(b, segments[i].s, segments[i].n, 0);
        else
            sigv4_reencode(b, segments[i].s, segments[i].n);
    }
    if (normalize && kept > 0 && path[len - 1] == '/')
        sigv4_putc(b, '/');
    free(segments);
    return 0;
}

/* ---- canonical query ---- */

struct sigv4_pair {
    char *key, *value;
};

static int sigv4_compare_pairs(const void *a, const void *b)
{
    const struct sigv4_pair *x = a, *y = b;
    int order = strcmp(x->key, y->key);
    return order ? order : strcmp(x->value, y->value);
}

static int sigv4_canonical_query(struct sigv4_buf *b, const char *query, size_t len)
{
    if (query == NULL || len == 0)
        return 0;
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
        count += query[i] == '&';
    struct sigv4_pair *pairs = calloc(count, sizeof *pairs);
    if (pairs == NULL)
        return -1;
    size_t used = 0;
    int failed = 0;
    const char *start = query;
    for (size_t i = 0; i <= len && !failed; i++) {
        if (i < len && query[i] != '&')
            continue;
        size_t n = (size_t)(query + i - start);
        const char *pair = start;
        start = query + i + 1;
        if (n == 0)
            continue; /* "a=1&&b=2": no parameter between the two */
        const char *equals = memchr(pair, '=', n);
        size_t key_len = equals ? (size_t)(equals - pair) : n;
        struct sigv4_buf key = {0}, value = {0};
        sigv4_put(&key, "", 0);
        sigv4_put(&value, "", 0);
        sigv4_reencode(&key, pair, key_len);
        if (equals)
            sigv4_reencode(&value, equals + 1, n - key_len - 1);
        pairs[used].key = sigv4_buf_take(&key);
        pairs[used].value = sigv4_buf_take(&value);
        if (pairs[used].key == NULL || pairs[used].value == NULL)
            failed = 1;
        used++;
    }
    if (!failed) {
        qsort(pairs, used, sizeof *pairs, sigv4_compare_pairs);
        for (size_t i = 0; i < used; i++) {
            if (i > 0)
                sigv4_putc(b, '&');
            sigv4_puts(b, pairs[i].key);
            sigv4_putc(b, '=');
            sigv4_puts(b, pairs[i].value);
        }
    }
    for (size_t i = 0; i < used; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    return failed ? -1 : 0;
}

/* ---- canonical headers ---- */

struct sigv4_header {
    char *name;   /* lower case */
    char *value;  /* trimmed, blanks collapsed */
    size_t order; /* position given: repeated names keep it */
};

static int sigv4_compare_headers(const void *a, const void *b)
{
    const struct sigv4_header *x = a, *y = b;
    int order = strcmp(x->name, y->name);
    if (order)
        return order;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int sigv4_token_char(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int sigv4_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Headers that proxies and HTTP libraries may add, drop or rewrite; the
 * SDKs leave them unsigned too. */
static const char *const sigv4_unsigned_headers[] = {
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", NULL,
};

/* The signer's own headers: the caller must not give them. */
static const char *const sigv4_own_headers[] = {
    "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization", NULL,
};

static int sigv4_in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

/* VALUE (N bytes) trimmed, each run of blanks made one space. A line break
 * must be an obs-fold (followed by a space or tab). */
static char *sigv4_header_value(const char *value, size_t n, int *bad)
{
    *bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] == '\r' && (i + 1 >= n || value[i + 1] != '\n'))
            *bad = 1;
        if (value[i] == '\n' && (i + 1 >= n || (value[i + 1] != ' ' && value[i + 1] != '\t')))
            *bad = 1;
    }
    if (*bad)
        return NULL;
    struct sigv4_buf b = {0};
    sigv4_put(&b, "", 0);
    size_t i = 0;
    while (i < n && sigv4_blank(value[i]))
        i++;
    int pending_space = 0;
    for (; i < n; i++) {
        if (sigv4_blank(value[i])) {
            pending_space = 1;
            continue;
        }
        if (pending_space)
            sigv4_putc(&b, ' ');
        pending_space = 0;
        sigv4_putc(&b, value[i]);
    }
    return sigv4_buf_take(&b);
}

static int sigv4_add_header(struct sigv4_header *list, size_t *count, const char *name, size_t name_len,
                            const char *value, size_t value_len, int *bad_value)
{
    struct sigv4_header *h = &list[*count];
    h->name = malloc(name_len + 1);
    if (h->name == NULL)
        return -1;
    for (size_t i = 0; i < name_len; i++)
        h->name[i] = (char)tolower((unsigned char)name[i]);
    h->name[name_len] = '\0';
    h->value = sigv4_header_value(value, value_len, bad_value);
    h->order = *count;
    (*count)++; /* counted even on failure, so that the name is freed */
    return h->value == NULL ? -1 : 0;
}

static void sigv4_free_headers(struct sigv4_header *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(list[i].name);
        sigv4_wipe_free(list[i].value); /* may be the session token */
    }
    free(list);
}

/* ---- hashing ---- */

static void sigv4_sha256_hex(const void *data, size_t size, char hex[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, size);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

static void sigv4_hmac(unsigned char out[crypto_auth_hmacsha256_BYTES], const void *key, size_t key_len,
                       const char *message, size_t message_len)
{
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key, key_len);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)message, message_len);
    crypto_auth_hmacsha256_final(&state, out);
    sodium_memzero(&state, sizeof state);
}

/* ---- validation ---- */

static int sigv4_valid_date(const char *d)
{
    if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

/* A scope part (access key id, region, service): printable, no blank, no
 * '/' or ','. */
static int sigv4_valid_scope_part(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7F || c == '/' || c == ',' || c == ';' || c == '=')
            return 0;
    }
    return 1;
}

static int sigv4_valid_token(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7F)
            return 0;
    }
    return 1;
}

/* ---- signing ---- */

static char *sigv4_header_line(const char *name, const char *value)
{
    size_t size = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(size);
    if (line != NULL)
        snprintf(line, size, "%s: %s", name, value);
    return line;
}

void sigv4_result_free(struct sigv4_result *out)
{
    if (out == NULL)
        return;
    for (int i = 0; i < SIGV4_MAX_HEADERS; i++)
        sigv4_wipe_free(out->headers[i]);
    sigv4_wipe_free(out->canonical_request);
    sigv4_wipe_free(out->string_to_sign);
    free(out->signed_headers);
    memset(out, 0, sizeof *out);
}

/* Collects the caller's headers and the signer's own, sorted. */
static int sigv4_collect_headers(const struct sigv4_request *r, const char *host, const char *token,
                                 const char *amz_date, const char *payload_hash, struct sigv4_header **list_out,
                                 size_t *count_out, char *err, size_t err_size)
{
    size_t given = 0;
    if (r->headers != NULL)
        while (r->headers[given] != NULL)
            given++;
    struct sigv4_header *list = calloc(given + 4, sizeof *list);
    if (list == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    size_t count = 0;
    int bad = 0;
    for (size_t i = 0; i < given; i++) {
        const char *line = r->headers[i];
        size_t name_len = strcspn(line, ":");
        const char *value;
        if (line[name_len] == ':') {
            value = line + name_len + 1;
            const char *v = value;
            while (*v && sigv4_blank(*v))
                v++;
            if (*v == '\0')
                continue; /* "Name:" removes a header: nothing is sent, nothing signed */
        } else {
            size_t len = strlen(line);
            if (len < 2 || line[len - 1] != ';') {
                snprintf(err, err_size, "header %zu is not \"Name: value\"", i + 1);
                goto fail;
            }
            name_len = len - 1; /* "Name;" sends an empty header */
            value = line + len;
        }
        if (name_len == 0) {
            snprintf(err, err_size, "header %zu has no name", i + 1);
            goto fail;
        }
        for (size_t k = 0; k < name_len; k++) {
            if (!sigv4_token_char((unsigned char)line[k])) {
                snprintf(err, err_size, "header %zu: its name holds a character not allowed in header names", i + 1);
                goto fail;
            }
        }
        if (sigv4_add_header(list, &count, line, name_len, value, strlen(value), &bad) < 0) {
            if (bad)
                snprintf(err, err_size, "header %.*s: a line break in its value that is not a continuation",
                         (int)(name_len > 64 ? 64 : name_len), line);
            else
                snprintf(err, err_size, "out of memory");
            goto fail;
        }
        const char *name = list[count - 1].name;
        if (sigv4_in_list(name, sigv4_own_headers)) {
            snprintf(err, err_size, "header %s is the signer's to add: pass it as a field of the request",
                     name);
            goto fail;
        }
        if (sigv4_in_list(name, sigv4_unsigned_headers)) {
            count--;
            free(list[count].name);
            sigv4_wipe_free(list[count].value);
            list[count].name = list[count].value = NULL;
        }
    }
    if (sigv4_add_header(list, &count, "host", 4, host, strlen(host), &bad) < 0 ||
        sigv4_add_header(list, &count, "x-amz-date", 10, amz_date, 16, &bad) < 0 ||
        (token && sigv4_add_header(list, &count, "x-amz-security-token", 20, token, strlen(token), &bad) < 0) ||
        (payload_hash && sigv4_add_header(list, &count, "x-amz-content-sha256", 20, payload_hash, 64, &bad) < 0)) {
        snprintf(err, err_size, bad ? "the host holds a line break" : "out of memory");
        goto fail;
    }
    qsort(list, count, sizeof *list, sigv4_compare_headers);
    *list_out = list;
    *count_out = count;
    return 0;
fail:
    sigv4_free_headers(list, count);
    return -1;
}

int sigv4_sign(const struct sigv4_request *r, const struct sigv4_credentials *c, struct sigv4_result *out,
               char *err, size_t err_size)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (r == NULL || c == NULL || out == NULL) {
        snprintf(err, err_size, "no request, credentials or result");
        return -1;
    }
    if (sodium_init() < 0) { /* idempotent; picks the fastest SHA-256 code */
        snprintf(err, err_size, "libsodium failed to start");
        return -1;
    }
    if (r->method == NULL || r->method[0] == '\0' ||
        strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method)) {
        snprintf(err, err_size, "the method must be given in capital letters");
        return -1;
    }
    if (!sigv4_valid_scope_part(c->access_key_id)) {
        snprintf(err, err_size, "the access key id is missing or holds a blank, '/', ',', ';' or '='");
        return -1;
    }
    if (c->secret_access_key == NULL || c->secret_access_key[0] == '\0') {
        snprintf(err, err_size, "the secret access key is missing");
        return -1;
    }
    const char *token = c->session_token && c->session_token[0] ? c->session_token : NULL;
    if (token && !sigv4_valid_token(token)) {
        snprintf(err, err_size, "the session token holds a blank or a control character");
        return -1;
    }
    if (!sigv4_valid_scope_part(r->region)) {
        snprintf(err, err_size, "the region is missing or not a region name");
        return -1;
    }
    if (!sigv4_valid_scope_part(r->service)) {
        snprintf(err, err_size, "the service is missing or not a service name");
        return -1;
    }
    if (r->body == NULL && r->body_size > 0) {
        snprintf(err, err_size, "a body size without a body");
        return -1;
    }

    /* Where the request goes. */
    struct sigv4_url url;
    const char *host, *path, *query;
    size_t path_len, query_len;
    if (r->url != NULL) {
        if (sigv4_parse_url(r->url, &url) < 0) {
            snprintf(err, err_size, "the URL is not http(s)://host[:port]/path");
            return -1;
        }
        host = url.host;
        path = url.path;
        path_len = url.path_len;
        query = url.query;
        query_len = url.query_len;
    } else {
        if (r->host == NULL || r->host[0] == '\0') {
            snprintf(err, err_size, "no URL and no host");
            return -1;
        }
        host = r->host;
        path = r->path ? r->path : "";
        path_len = strlen(path);
        query = r->query;
        query_len = query ? strlen(query) : 0;
    }
    if (path_len > 0 && path[0] != '/') {
        snprintf(err, err_size, "the path must start with '/'");
        return -1;
    }

    /* The date. */
    if (r->amz_date != NULL) {
        if (!sigv4_valid_date(r->amz_date)) {
            snprintf(err, err_size, "the date must look like 20150830T123600Z");
            return -1;
        }
        memcpy(out->amz_date, r->amz_date, 17);
    } else {
        time_t now = time(NULL);
        struct tm utc;
        if (gmtime_r(&now, &utc) == NULL ||
            strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ", &utc) != 16) {
            snprintf(err, err_size, "cannot read the clock");
            return -1;
        }
    }
    sigv4_sha256_hex(r->body ? r->body : "", r->body_size, out->payload_sha256);

    struct sigv4_header *headers = NULL;
    size_t header_count = 0;
    if (sigv4_collect_headers(r, host, r->token_after_signing ? NULL : token, out->amz_date,
                              r->sign_content_sha256 ? out->payload_sha256 : NULL, &headers, &header_count, err,
                              err_size) < 0)
        return -1;

    /* 1. The canonical request. */
    struct sigv4_buf creq = {0}, names = {0};
    sigv4_puts(&creq, r->method);
    sigv4_putc(&creq, '\n');
    int failed = sigv4_canonical_uri(&creq, path, path_len, r->double_encode_path, r->normalize_path) < 0;
    sigv4_putc(&creq, '\n');
    failed |= sigv4_canonical_query(&creq, query, query_len) < 0;
    sigv4_putc(&creq, '\n');
    sigv4_put(&names, "", 0);
    for (size_t i = 0; i < header_count; i++) {
        int repeat = i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0;
        if (repeat) {
            sigv4_putc(&creq, ',');
        } else {
            if (i > 0) {
                sigv4_putc(&creq, '\n');
                sigv4_putc(&names, ';');
            }
            sigv4_puts(&creq, headers[i].name);
            sigv4_putc(&creq, ':');
            sigv4_puts(&names, headers[i].name);
        }
        sigv4_puts(&creq, headers[i].value);
    }
    sigv4_free_headers(headers, header_count);
    sigv4_puts(&creq, "\n\n");
    sigv4_put(&creq, names.data, names.len);
    sigv4_putc(&creq, '\n');
    sigv4_puts(&creq, out->payload_sha256);
    out->signed_headers = sigv4_buf_take(&names);
    out->canonical_request = sigv4_buf_take(&creq);
    if (failed || out->signed_headers == NULL || out->canonical_request == NULL) {
        snprintf(err, err_size, "out of memory");
        sigv4_result_free(out);
        return -1;
    }

    /* 2. The string to sign. */
    char date[9], creq_hash[65];
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);
    struct sigv4_buf scope = {0}, sts = {0};
    sigv4_puts(&scope, date);
    sigv4_putc(&scope, '/');
    sigv4_puts(&scope, r->region);
    sigv4_putc(&scope, '/');
    sigv4_puts(&scope, r->service);
    sigv4_puts(&scope, "/aws4_request");
    sigv4_puts(&sts, SIGV4_ALGORITHM "\n");
    sigv4_puts(&sts, out->amz_date);
    sigv4_putc(&sts, '\n');
    sigv4_put(&sts, scope.data, scope.len);
    sigv4_putc(&sts, '\n');
    sigv4_puts(&sts, creq_hash);
    out->string_to_sign = sigv4_buf_take(&sts);

    /* 3. The signing key, 4. the signature. */
    struct sigv4_buf secret = {0};
    sigv4_puts(&secret, "AWS4");
    sigv4_puts(&secret, c->secret_access_key);
    unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], signature[32];
    failed = secret.failed || scope.failed || out->string_to_sign == NULL;
    if (!failed) {
        sigv4_hmac(k_date, secret.data, secret.len, date, 8);
        sigv4_hmac(k_region, k_date, sizeof k_date, r->region, strlen(r->region));
        sigv4_hmac(k_service, k_region, sizeof k_region, r->service, strlen(r->service));
        sigv4_hmac(k_signing, k_service, sizeof k_service, "aws4_request", 12);
        sigv4_hmac(signature, k_signing, sizeof k_signing, out->string_to_sign, strlen(out->string_to_sign));
        sodium_bin2hex(out->signature, sizeof out->signature, signature, sizeof signature);
    }
    sigv4_buf_free(&secret);
    sodium_memzero(k_date, sizeof k_date);
    sodium_memzero(k_region, sizeof k_region);
    sodium_memzero(k_service, sizeof k_service);
    sodium_memzero(k_signing, sizeof k_signing);
    sodium_memzero(signature, sizeof signature);

    /* The headers to send. */
    struct sigv4_buf auth = {0};
    sigv4_puts(&auth, "Authorization: " SIGV4_ALGORITHM " Credential=");
    sigv4_puts(&auth, c->access_key_id);
    sigv4_putc(&auth, '/');
    sigv4_put(&auth, scope.data, scope.len);
    sigv4_puts(&auth, ", SignedHeaders=");
    sigv4_puts(&auth, out->signed_headers);
    sigv4_puts(&auth, ", Signature=");
    sigv4_puts(&auth, out->signature);
    sigv4_buf_free(&scope);
    int n = 0;
    out->headers[n++] = sigv4_header_line("X-Amz-Date", out->amz_date);
    if (token)
        out->headers[n++] = sigv4_header_line("X-Amz-Security-Token", token);
    if (r->sign_content_sha256)
        out->headers[n++] = sigv4_header_line("X-Amz-Content-SHA256", out->payload_sha256);
    char *authorization = sigv4_buf_take(&auth);
    out->headers[n++] = authorization;
    for (int i = 0; i < n; i++)
        failed |= out->headers[i] == NULL;
    if (failed) {
        snprintf(err, err_size, "out of memory");
        sigv4_result_free(out);
        return -1;
    }
    out->authorization = authorization + strlen("Authorization: ");
    return 0;
}
