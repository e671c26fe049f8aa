/* Unit tests for sigv4: every case of AWS's official SigV4 test suite
 * (SIGV4_VECTORS: tests/vectors/aws-sigv4) signed from its .req and
 * compared byte for byte with its .creq, .sts and .authz; then what the
 * vectors do not cover: Lambda's double-encoded paths and sorted queries,
 * S3 mode, URLs, the signer's own headers, unsigned and removed headers,
 * and the errors.
 *
 * The .req files are parsed as the suite means them: the request line's
 * path is what goes on the wire, a line starting with a blank continues the
 * header above it, Host and X-Amz-Date are the signer's fields. Two cases
 * carry a session token that their .req does not show:
 * get-vanilla-with-session-token (the token is in its .sreq and signed) and
 * post-sts-header-after (the token is added after signing, so it is sent
 * but not signed: token_after_signing). post-sts-header-before has the
 * token in its .req and signs it. The .sreq of get-vanilla-with-session-token
 * carries another case's Authorization (an error in the suite); its .authz
 * is the right one and is what is compared. */
#include <dirent.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sigv4.h"

#define ACCESS_KEY "AKIDEXAMPLE"
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static char *slurp(const char *path, size_t *size_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, size = 0;
    char *data = malloc(cap);
    size_t n;
    while (data != NULL && (n = fread(data + size, 1, cap - size - 1, f)) > 0) {
        size += n;
        if (cap - size - 1 == 0) {
            char *grown = realloc(data, cap * 2);
            if (grown == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (data != NULL)
        data[size] = '\0';
    if (size_out)
        *size_out = size;
    return data;
}

/* The value of header NAME in a .req/.sreq text (first line of it), or NULL. */
static char *find_header(const char *text, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            size_t n = strcspn(v, "\r\n");
            return strndup(v, n);
        }
        if (*line == '\n')
            break; /* end of the headers */
    }
    return NULL;
}

struct parsed_req {
    char method[16];
    char *path;
    char *query;
    char *host;
    char *amz_date;
    char *token;
    char *headers[32];
    size_t header_count;
    const char *body;
    size_t body_size;
};

static void free_req(struct parsed_req *r)
{
    free(r->path);
    free(r->query);
    free(r->host);
    free(r->amz_date);
    free(r->token);
    for (size_t i = 0; i < r->header_count; i++)
        free(r->headers[i]);
}

/* Parses TEXT (SIZE bytes, modified in place for the body). */
static int parse_req(char *text, size_t size, struct parsed_req *r)
{
    memset(r, 0, sizeof *r);
    char *line_end = strchr(text, '\n');
    if (line_end == NULL)
        line_end = text + size;
    char *space = memchr(text, ' ', (size_t)(line_end - text));
    char *version = NULL;
    for (char *p = text; p + 6 <= line_end; p++)
        if (memcmp(p, " HTTP/", 6) == 0)
            version = p;
    if (space == NULL || version == NULL || version <= space || (size_t)(space - text) >= sizeof r->method)
        return -1;
    memcpy(r->method, text, (size_t)(space - text));
    char *target = strndup(space + 1, (size_t)(version - space - 1));
    char *question = strchr(target, '?');
    if (question) {
        r->query = strdup(question + 1);
        *question = '\0';
    }
    r->path = target;
    char *p = *line_end ? line_end + 1 : line_end;
    char *end = text + size;
    while (p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        if (e == NULL)
            e = end;
        size_t n = (size_t)(e - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0) { /* the blank line: the body follows */
            p = e < end ? e + 1 : end;
            r->body = p;
            r->body_size = (size_t)(end - p);
            return 0;
        }
        if ((*p == ' ' || *p == '\t') && r->header_count > 0) { /* obs-fold */
            char *previous = r->headers[r->header_count - 1];
            size_t old = strlen(previous);
            char *joined = realloc(previous, old + 1 + n + 1);
            if (joined == NULL)
                return -1;
            joined[old] = '\n';
            memcpy(joined + old + 1, p, n);
            joined[old + 1 + n] = '\0';
            r->headers[r->header_count - 1] = joined;
        } else {
            char *colon = memchr(p, ':', n);
            if (colon == NULL)
                return -1;
            size_t name_len = (size_t)(colon - p);
            char *value = strndup(colon + 1, n - name_len - 1);
            if (name_len == 4 && strncasecmp(p, "Host", 4) == 0) {
                r->host = value;
            } else if (name_len == 10 && strncasecmp(p, "X-Amz-Date", 10) == 0) {
                r->amz_date = value;
            } else if (name_len == 20 && strncasecmp(p, "X-Amz-Security-Token", 20) == 0) {
                r->token = value;
            } else {
                free(value);
                if (r->header_count == 32)
                    return -1;
                r->headers[r->header_count++] = strndup(p, n);
            }
        }
        p = e < end ? e + 1 : end;
    }
    r->body = end;
    r->body_size = 0;
    return 0;
}

static int cases_run, cases_passed;

static void show_difference(const char *name, const char *what, const char *expected, const char *got)
{
    fprintf(stderr, "%s: %s differs\n--- expected\n%s\n--- got\n%s\n", name, what, expected, got ? got : "(null)");
}

/* DIR/NAME.EXT, read whole, or NULL. */
static char *read_part(const char *dir, const char *name, const char *ext, size_t *size)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext) >= (int)sizeof path)
        return NULL;
    return slurp(path, size);
}

static void run_case(const char *dir, const char *name)
{
    size_t req_size;
    char *req = read_part(dir, name, "req", &req_size);
    char *creq = read_part(dir, name, "creq", NULL);
    char *sts = read_part(dir, name, "sts", NULL);
    char *authz = read_part(dir, name, "authz", NULL);
    char *sreq = read_part(dir, name, "sreq", NULL);
    cases_run++;
    int ok = req && creq && sts && authz && sreq;
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "%s: a file of the case is missing\n", name);
        goto done;
    }
    struct parsed_req r;
    int parsed = parse_req(req, req_size, &r) == 0;
    CHECK(parsed);
    if (!parsed) {
        fprintf(stderr, "%s: cannot parse the .req\n", name);
        free_req(&r);
        goto done;
    }
    int after = strstr(name, "header-after") != NULL;
    char *sent_token = find_header(sreq, "X-Amz-Security-Token");
    if (r.token == NULL && sent_token != NULL)
        r.token = strdup(sent_token);

    const char *headers[33];
    for (size_t i = 0; i < r.header_count; i++)
        headers[i] = r.headers[i];
    headers[r.header_count] = NULL;
    struct sigv4_request request = {
        .method = r.method,
        .host = r.host,
        .path = r.path,
        .query = r.query,
        .headers = headers,
        .body = r.body,
        .body_size = r.body_size,
        .region = "us-east-1",
        .service = "service",
        .amz_date = r.amz_date,
        .double_encode_path = 1,
        .normalize_path = 1,
        .token_after_signing = after,
    };
    struct sigv4_credentials credentials = {ACCESS_KEY, SECRET_KEY, r.token};
    struct sigv4_result result;
    char err[256] = "";
    int signed_ok = sigv4_sign(&request, &credentials, &result, err, sizeof err) == 0;
    CHECK(signed_ok);
    if (!signed_ok) {
        fprintf(stderr, "%s: sigv4_sign: %s\n", name, err);
    } else {
        int same_creq = strcmp(result.canonical_request, creq) == 0;
        int same_sts = strcmp(result.string_to_sign, sts) == 0;
        int same_authz = strcmp(result.authorization, authz) == 0;
        CHECK(same_creq);
        CHECK(same_sts);
        CHECK(same_authz);
        if (!same_creq)
            show_difference(name, "canonical request", creq, result.canonical_request);
        if (!same_sts)
            show_difference(name, "string to sign", sts, result.string_to_sign);
        if (!same_authz)
            show_difference(name, "authorization", authz, result.authorization);
        /* The headers to add are what the .sreq shows added. */
        int token_sent = 0;
        for (int i = 0; result.headers[i] != NULL; i++)
            if (strncmp(result.headers[i], "X-Amz-Security-Token: ", 22) == 0)
                token_sent = sent_token != NULL && strcmp(result.headers[i] + 22, sent_token) == 0;
        CHECK(token_sent == (sent_token != NULL));
        if (same_creq && same_sts && same_authz && token_sent == (sent_token != NULL))
            cases_passed++;
        sigv4_result_free(&result);
    }
    free(sent_token);
    free_req(&r);
done:
    free(req);
    free(creq);
    free(sts);
    free(authz);
    free(sreq);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every folder under DIR holding NAME.req (NAME its own name) is a case. */
static void run_folder(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return;
    }
    char *names[256];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL && count < 256)
        if (entry->d_name[0] != '.')
            names[count++] = strdup(entry->d_name);
    closedir(d);
    qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        char sub[2048], req[4200];
        struct stat st;
        if (snprintf(sub, sizeof sub, "%s/%s", dir, names[i]) < (int)sizeof sub && stat(sub, &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            if (snprintf(req, sizeof req, "%s/%s.req", sub, names[i]) < (int)sizeof req && access(req, F_OK) == 0)
                run_case(sub, names[i]);
            else
                run_folder(sub);
        }
        free(names[i]);
    }
}

/* Signs with the vector credentials and date; returns the canonical request
 * (static copy) or NULL with the error in ERR. */
static struct sigv4_result last;
static char last_err[256];

static int sign(struct sigv4_request *request, const char *token)
{
    if (request->region == NULL)
        request->region = "us-east-1";
    if (request->service == NULL)
        request->service = "lambda";
    if (request->amz_date == NULL)
        request->amz_date = "20150830T123600Z";
    struct sigv4_credentials credentials = {ACCESS_KEY, SECRET_KEY, token};
    sigv4_result_free(&last);
    last_err[0] = '\0';
    return sigv4_sign(request, &credentials, &last, last_err, sizeof last_err);
}

/* Line N (0-based) of the last canonical request. */
static const char *creq_line(int n)
{
    static char line[1024];
    const char *p = last.canonical_request;
    for (int i = 0; p && i < n; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (p == NULL)
        return "";
    size_t len = strcspn(p, "\n");
    if (len >= sizeof line)
        len = sizeof line - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    return line;
}

static int has_header(const char *line)
{
    for (int i = 0; last.headers[i] != NULL; i++)
        if (strcmp(last.headers[i], line) == 0)
            return 1;
    return 0;
}

static void test_lambda(void)
{
    char *encoded = sigv4_uri_encode("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", 0);
    CHECK(encoded && strcmp(encoded, "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3A%24LATEST") == 0);
    free(encoded);
    encoded = sigv4_uri_encode("a b/c~\xc3\xa9", 1);
    CHECK(encoded && strcmp(encoded, "a%20b/c~%C3%A9") == 0);
    free(encoded);

    /* The wire path carries the name encoded once; the canonical URI twice. */
    struct sigv4_request r = {
        .method = "POST",
        .host = "lambda.us-east-1.amazonaws.com",
        .path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations",
        .query = "Qualifier=%24LATEST&MaxItems=10&Marker=&Flag",
        .headers = (const char *const[]){"Content-Type: application/json", "X-Amz-Invocation-Type: Event",
                                         "X-Amz-Log-Type:   Tail  ", "User-Agent: faaset/0.1", "Accept:", NULL},
        .body = "{\"name\": \"B\xc3\xb6\x62\"}",
        .body_size = 17,
        .double_encode_path = 1,
        .normalize_path = 1,
    };
    CHECK(sign(&r, "session/token+value=") == 0);
    CHECK(strcmp(creq_line(1), "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Ahello/invocations") == 0);
    CHECK(strcmp(creq_line(2), "Flag=&Marker=&MaxItems=10&Qualifier=%24LATEST") == 0);
    CHECK(strcmp(creq_line(3), "content-type:application/json") == 0);
    CHECK(strcmp(creq_line(5), "x-amz-date:20150830T123600Z") == 0);
    CHECK(strcmp(creq_line(7), "x-amz-log-type:Tail") == 0);
    CHECK(strcmp(creq_line(8), "x-amz-security-token:session/token+value=") == 0);
    CHECK(strcmp(last.signed_headers,
                 "content-type;host;x-amz-date;x-amz-invocation-type;x-amz-log-type;x-amz-security-token") == 0);
    CHECK(has_header("X-Amz-Date: 20150830T123600Z"));
    CHECK(has_header("X-Amz-Security-Token: session/token+value="));
    CHECK(strncmp(last.headers[2], "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;", 120) == 0);
    CHECK(last.headers[3] == NULL);
    CHECK(strstr(last.authorization, last.signature) != NULL && strlen(last.signature) == 64);
    char first[65];
    memcpy(first, last.signature, sizeof first);
    CHECK(sign(&r, "session/token+value=") == 0 && strcmp(first, last.signature) == 0);
    CHECK(sign(&r, NULL) == 0 && strcmp(first, last.signature) != 0);
    CHECK(strstr(last.signed_headers, "security") == NULL && last.headers[1] != NULL && last.headers[2] == NULL);

    /* The same request from a URL: same canonical request. */
    char *from_fields = strdup(last.canonical_request);
    struct sigv4_request u = r;
    u.host = u.path = u.query = NULL;
    u.url = "https://Lambda.US-East-1.amazonaws.com:443/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations?Qualifier=%24LATEST&MaxItems=10&Marker=&Flag#frag";
    CHECK(sign(&u, NULL) == 0 && strcmp(from_fields, last.canonical_request) == 0);
    free(from_fields);

    /* A raw query and an encoded one sign the same. */
    struct sigv4_request q = {.method = "GET", .host = "h", .path = "/", .query = "b=a b&a=%7e&c=%zz&d=1+1"};
    CHECK(sign(&q, NULL) == 0 && strcmp(creq_line(2), "a=~&b=a%20b&c=%25zz&d=1%2B1") == 0);
    q.query = "&&x=1&&";
    CHECK(sign(&q, NULL) == 0 && strcmp(creq_line(2), "x=1") == 0);
}

static void test_modes(void)
{
    /* S3: the path as sent (normalized only in its encoding), no dot
     * removal, and X-Amz-Content-SHA256. */
    struct sigv4_request s3 = {.method = "PUT", .host = "bucket.s3.amazonaws.com", .path = "/my-object//example//photo.user/./x/../a%2fb c",
                               .service = "s3", .body = "hi", .body_size = 2, .sign_content_sha256 = 1};
    CHECK(sign(&s3, NULL) == 0);
    CHECK(strcmp(creq_line(1), "/my-object//example//photo.user/./x/../a%2Fb%20c") == 0);
    CHECK(strstr(last.signed_headers, "x-amz-content-sha256") != NULL);
    CHECK(has_header("X-Amz-Content-SHA256: 8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"));
    CHECK(strcmp(last.payload_sha256, "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4") == 0);
    s3.path = "";
    CHECK(sign(&s3, NULL) == 0 && strcmp(creq_line(1), "/") == 0);
    s3.path = "/a/";
    s3.normalize_path = 1;
    CHECK(sign(&s3, NULL) == 0 && strcmp(creq_line(1), "/a/") == 0);

    /* Empty-valued headers, duplicates, obs-folds. */
    struct sigv4_request h = {.method = "GET", .host = " h ", .path = "/",
                              .headers = (const char *const[]){"X-Empty;", "X-Removed:  ", "X-Dup: 1", "x-dup:2 ",
                                                               "X-Fold: a\r\n\tb", "Expect: 100-continue", NULL}};
    CHECK(sign(&h, NULL) == 0);
    CHECK(strcmp(last.signed_headers, "host;x-amz-date;x-dup;x-empty;x-fold") == 0);
    CHECK(strcmp(creq_line(3), "host:h") == 0);
    CHECK(strcmp(creq_line(5), "x-dup:1,2") == 0);
    CHECK(strcmp(creq_line(6), "x-empty:") == 0);
    CHECK(strcmp(creq_line(7), "x-fold:a b") == 0);

    /* No date given: now. */
    struct sigv4_request now = {.method = "GET", .host = "h", .path = "/", .region = "eu-west-1", .service = "lambda"};
    struct sigv4_credentials credentials = {ACCESS_KEY, SECRET_KEY, NULL};
    struct sigv4_result result;
    char err[256];
    CHECK(sigv4_sign(&now, &credentials, &result, err, sizeof err) == 0);
    CHECK(strlen(result.amz_date) == 16 && result.amz_date[8] == 'T' && strncmp(result.amz_date, "20", 2) == 0);
    sigv4_result_free(&result);
    sigv4_result_free(&result); /* harmless twice */

    char host[64];
    CHECK(sigv4_host_from_url("http://127.0.0.1:5000/x", host, sizeof host) == 0 && strcmp(host, "127.0.0.1:5000") == 0);
    CHECK(sigv4_host_from_url("http://Example.COM:80", host, sizeof host) == 0 && strcmp(host, "example.com") == 0);
    CHECK(sigv4_host_from_url("https://[::1]:8443/", host, sizeof host) == 0 && strcmp(host, "[::1]:8443") == 0);
    CHECK(sigv4_host_from_url("https://user:pw@h.example:443?q", host, sizeof host) == 0 && strcmp(host, "h.example") == 0);
    CHECK(sigv4_host_from_url("ftp://h/", host, sizeof host) < 0);
    CHECK(sigv4_host_from_url("https:///x", host, sizeof host) < 0);
    CHECK(sigv4_host_from_url("https://h:99999/", host, sizeof host) < 0);
    CHECK(sigv4_host_from_url("https://h:8x/", host, sizeof host) < 0);
    CHECK(sigv4_host_from_url("https://a-long-host.example", host, 8) < 0);
}

static void test_errors(void)
{
    struct sigv4_request base = {.method = "GET", .host = "h", .path = "/"};
    struct sigv4_request r = base;
    r.headers = (const char *const[]){"Host: other", NULL};
    CHECK(sign(&r, NULL) < 0 && strstr(last_err, "host") != NULL);
    r.headers = (const char *const[]){"x-amz-date: 20150830T123600Z", NULL};
    CHECK(sign(&r, NULL) < 0 && strstr(last_err, "x-amz-date") != NULL);
    r.headers = (const char *const[]){"Authorization: x", NULL};
    CHECK(sign(&r, NULL) < 0);
    r.headers = (const char *const[]){"X-A: b\r\nEvil: c", NULL};
    CHECK(sign(&r, NULL) < 0 && strstr(last_err, "line break") != NULL);
    r.headers = (const char *const[]){"X-A: b\rc", NULL};
    CHECK(sign(&r, NULL) < 0);
    r.headers = (const char *const[]){"Bad Name: b", NULL};
    CHECK(sign(&r, NULL) < 0);
    r.headers = (const char *const[]){"no colon", NULL};
    CHECK(sign(&r, NULL) < 0);
    r.headers = (const char *const[]){": v", NULL};
    CHECK(sign(&r, NULL) < 0);
    r = base;
    r.amz_date = "2015-08-30T12:36:00Z";
    CHECK(sign(&r, NULL) < 0 && strstr(last_err, "date") != NULL);
    r = base;
    r.method = "get";
    CHECK(sign(&r, NULL) < 0);
    r = base;
    r.path = "relative";
    CHECK(sign(&r, NULL) < 0);
    r = base;
    r.host = NULL;
    CHECK(sign(&r, NULL) < 0);
    r = base;
    r.url = "file:///etc/passwd";
    CHECK(sign(&r, NULL) < 0);
    r = base;
    r.region = "us east";
    CHECK(sign(&r, NULL) < 0 && strstr(last_err, "region") != NULL);
    r = base;
    r.body_size = 3;
    CHECK(sign(&r, NULL) < 0);
    r = base;
    CHECK(sign(&r, "bad token") < 0 && strstr(last_err, "bad") == NULL);

    struct sigv4_credentials no_secret = {ACCESS_KEY, "", NULL}, bad_key = {"AKID/X", SECRET_KEY, NULL};
    struct sigv4_result result;
    char err[256];
    r = base;
    r.region = "us-east-1";
    r.service = "lambda";
    CHECK(sigv4_sign(&r, &no_secret, &result, err, sizeof err) < 0 && strstr(err, "secret") != NULL);
    CHECK(sigv4_sign(&r, &bad_key, &result, err, sizeof err) < 0 && strstr(err, "AKID") == NULL);
    CHECK(sigv4_sign(NULL, &bad_key, &result, err, sizeof err) < 0);
    /* A small error buffer is fine. */
    CHECK(sigv4_sign(&r, &no_secret, &result, err, 4) < 0 && strlen(err) == 3);
}

int main(void)
{
    run_folder(SIGV4_VECTORS);
    printf("official vectors: %d of %d cases pass\n", cases_passed, cases_run);
    CHECK(cases_run >= 34);
    CHECK(cases_passed == cases_run);
    test_lambda();
    test_modes();
    test_errors();
    sigv4_result_free(&last);
    return check_report();
}
