/* http_reply: an incremental HTTP/1.x response reader (see http_reply.h).
 *
 * Lines (the status line, header lines, chunk sizes, trailers) are gathered
 * in LINE until their LF, so a piece may end anywhere; a CR before the LF
 * is dropped. Body bytes go straight into BODY: one allocation of the
 * announced size when there is a Content-Length, doubling otherwise. The
 * phases follow RFC 9112: status line, header lines up to a blank one, then
 * the body by the first rule that applies (HEAD, 1xx, 204 and 304 have none;
 * a chunked Transfer-Encoding; a Content-Length; else up to the close). A
 * 1xx other than 101 is dropped with its headers and the next response
 * read. Conflicting lengths, a Transfer-Encoding that does not end in
 * chunked (its length would be unknowable) and malformed lines are errors:
 * what follows on that connection could not be trusted. */
#include "http_reply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { PHASE_STATUS, PHASE_HEADERS, PHASE_LENGTH, PHASE_CHUNK_SIZE, PHASE_CHUNK_DATA, PHASE_CHUNK_END,
       PHASE_TRAILERS, PHASE_UNTIL_CLOSE, PHASE_DONE, PHASE_FAILED };

enum { FRAMING_NONE, FRAMING_LENGTH, FRAMING_CHUNKED, FRAMING_CLOSE };

#define HTTP_REPLY_MAX_LINE ((size_t)64 << 10) /* a chunk-size or trailer line */

void http_reply_init(struct http_reply *reply, int no_body)
{
    memset(reply, 0, sizeof *reply);
    reply->no_body = no_body;
    reply->phase = PHASE_STATUS;
}

void http_reply_free(struct http_reply *reply)
{
    free(reply->head);
    free(reply->body);
    free(reply->line);
    memset(reply, 0, sizeof *reply);
}

static enum http_reply_state http_reply_fail(struct http_reply *reply, const char *error)
{
    reply->phase = PHASE_FAILED;
    reply->error = error;
    return HTTP_REPLY_FAILED;
}

/* Room in *DATA (capacity *CAPACITY) for SIZE + EXTRA bytes and a NUL. */
static int http_reply_reserve(char **data, size_t *capacity, size_t size, size_t extra)
{
    size_t need = size + extra + 1;
    if (need <= *capacity)
        return 0;
    size_t grown_capacity = *capacity ? *capacity : 256;
    while (grown_capacity < need)
        grown_capacity *= 2;
    char *grown = realloc(*data, grown_capacity);
    if (grown == NULL)
        return -1;
    *data = grown;
    *capacity = grown_capacity;
    return 0;
}

static int http_reply_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The value of header LINE ("Name: value") if it is named NAME, else NULL. */
static const char *http_reply_value(const char *line, const char *name)
{
    size_t length = strlen(name);
    if (strncasecmp(line, name, length) != 0 || line[length] != ':')
        return NULL;
    const char *value = line + length + 1;
    while (http_reply_is_blank(*value))
        value++;
    return value;
}

/* Whether the comma-separated list VALUE holds TOKEN (case-insensitive). */
static int http_reply_has_token(const char *value, const char *token)
{
    size_t length = strlen(token);
    for (const char *at = value; *at != '\0';) {
        while (*at == ',' || http_reply_is_blank(*at))
            at++;
        const char *end = at;
        while (*end != '\0' && *end != ',')
            end++;
        const char *last = end;
        while (last > at && http_reply_is_blank(last[-1]))
            last--;
        if ((size_t)(last - at) == length && strncasecmp(at, token, length) == 0)
            return 1;
        at = end;
    }
    return 0;
}

/* The last coding of a Transfer-Encoding VALUE is chunked. */
static int http_reply_ends_chunked(const char *value)
{
    const char *last = strrchr(value, ',');
    last = last != NULL ? last + 1 : value;
    while (http_reply_is_blank(*last))
        last++;
    size_t length = strlen(last);
    while (length > 0 && http_reply_is_blank(last[length - 1]))
        length--;
    return length == 7 && strncasecmp(last, "chunked", 7) == 0;
}

/* "HTTP/1.x NNN reason" (LENGTH bytes): the status, and the minor version in *MINOR. */
static long http_reply_status_line(const char *line, size_t length, int *minor)
{
    if (length < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
        return -1;
    *minor = line[7] - '0';
    const char *code = line + 9;
    if (code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' ||
        (length > 12 && code[3] != ' '))
        return -1;
    return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
}

int http_reply_add_header(char **head, size_t *size, size_t *capacity, const char *line, size_t length)
{
    size_t start = 0;
    int folded = length > 0 && http_reply_is_blank(line[0]);
    if (folded) {
        while (start < length && http_reply_is_blank(line[start]))
            start++;
        if (*size == 0)
            return 0; /* nothing to continue */
    }
    while (length > start && http_reply_is_blank(line[length - 1]))
        length--;
    if (start == length)
        return 0;
    size_t add = length - start + 1; /* the text and its NUL, or a space before it when folded */
    if (add > HTTP_REPLY_MAX_HEAD - *size)
        return -1;
    if (http_reply_reserve(head, capacity, *size, add) < 0)
        return -2;
    char *text = *head;
    if (folded)
        text[*size - 1] = ' '; /* was the previous line's NUL */
    memcpy(text + *size, line + start, length - start);
    *size += length - start;
    text[(*size)++] = '\0';
    text[*size] = '\0';
    return 0;
}

/* The head is complete: decide how the body is framed and whether the
 * connection stays open. */
static enum http_reply_state http_reply_head_done(struct http_reply *reply, int minor)
{
    const char *encoding = NULL, *length = NULL, *connection = NULL;
    for (const char *line = reply->head; line != NULL && *line != '\0'; line += strlen(line) + 1) {
        const char *value;
        if ((value = http_reply_value(line, "Transfer-Encoding")) != NULL)
            encoding = value;
        else if ((value = http_reply_value(line, "Content-Length")) != NULL) {
            if (length != NULL && strcmp(length, value) != 0)
                return http_reply_fail(reply, "invalid HTTP response: two different Content-Length headers");
            length = value;
        } else if ((value = http_reply_value(line, "Connection")) != NULL)
            connection = value;
    }
    if (minor == 1)
        reply->keep_alive = connection == NULL || !http_reply_has_token(connection, "close");
    else
        reply->keep_alive = connection != NULL && http_reply_has_token(connection, "keep-alive");

    long status = reply->status;
    if (reply->no_body || status == 204 || status == 304) {
        reply->framing = FRAMING_NONE;
    } else if (encoding != NULL) {
        if (!http_reply_ends_chunked(encoding))
            return http_reply_fail(reply, "invalid HTTP response: a Transfer-Encoding that does not end in chunked");
        reply->framing = FRAMING_CHUNKED;
    } else if (length != NULL) {
        unsigned long long value = 0;
        const char *digit = length;
        for (; *digit >= '0' && *digit <= '9'; digit++) {
            if (value > HTTP_REPLY_MAX_BODY)
                break;
            value = value * 10 + (unsigned long long)(*digit - '0');
        }
        if (digit == length || (*digit != '\0' && value <= HTTP_REPLY_MAX_BODY))
            return http_reply_fail(reply, "invalid HTTP response: a Content-Length that is not a number");
        if (value > HTTP_REPLY_MAX_BODY)
            return http_reply_fail(reply, "response too large");
        reply->framing = FRAMING_LENGTH;
        reply->left = value;
        if (value > 0) { /* one allocation of the announced size */
            reply->body = malloc((size_t)value + 1);
            if (reply->body == NULL)
                return http_reply_fail(reply, "out of memory");
            reply->body_capacity = (size_t)value + 1;
        }
    } else {
        reply->framing = FRAMING_CLOSE;
        reply->keep_alive = 0;
    }
    switch (reply->framing) {
    case FRAMING_NONE:
        reply->phase = PHASE_DONE;
        return HTTP_REPLY_DONE;
    case FRAMING_LENGTH:
        reply->phase = reply->left > 0 ? PHASE_LENGTH : PHASE_DONE;
        return reply->left > 0 ? HTTP_REPLY_MORE : HTTP_REPLY_DONE;
    case FRAMING_CHUNKED:
        reply->phase = PHASE_CHUNK_SIZE;
        return HTTP_REPLY_MORE;
    default:
        reply->phase = PHASE_UNTIL_CLOSE;
        return HTTP_REPLY_MORE;
    }
}

/* A whole line (without its CR LF) in the current phase. */
static enum http_reply_state http_reply_line(struct http_reply *reply, const char *line, size_t length)
{
    switch (reply->phase) {
    case PHASE_STATUS: {
        if (length == 0 && reply->status == 0 && reply->head_size == 0)
            return HTTP_REPLY_MORE; /* a stray blank line before the response (RFC 9112 2.2) */
        int minor = 0;
        long status = http_reply_status_line(line, length, &minor);
        if (status < 0)
            return http_reply_fail(reply, "invalid HTTP response: no HTTP/1.x status line");
        reply->status = status;
        reply->keep_alive = minor; /* the version, kept here until the head ends */
        reply->phase = PHASE_HEADERS;
        return HTTP_REPLY_MORE;
    }
    case PHASE_HEADERS: {
        if (length > 0) {
            if (!http_reply_is_blank(line[0]) && memchr(line, ':', length) == NULL)
                return http_reply_fail(reply, "invalid HTTP response: a header line without a colon");
            int added = http_reply_add_header(&reply->head, &reply->head_size, &reply->head_capacity, line, length);
            if (added < 0)
                return http_reply_fail(reply, added == -1 ? "response too large" : "out of memory");
            return HTTP_REPLY_MORE;
        }
        if (reply->status >= 100 && reply->status < 200) {
            if (reply->status == 101)
                return http_reply_fail(reply, "invalid HTTP response: the server switched protocols");
            reply->head_size = 0; /* an interim response: the final one follows */
            if (reply->head != NULL)
                reply->head[0] = '\0';
            reply->status = 0;
            reply->phase = PHASE_STATUS;
            return HTTP_REPLY_MORE;
        }
        return http_reply_head_done(reply, reply->keep_alive);
    }
    case PHASE_CHUNK_SIZE: {
        unsigned long long size = 0;
        size_t at = 0;
        for (; at < length; at++) {
            char c = line[at];
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0)
                break;
            if (size > HTTP_REPLY_MAX_BODY)
                return http_reply_fail(reply, "response too large");
            size = size * 16 + (unsigned long long)digit;
        }
        if (at == 0 || (at < length && line[at] != ';' && !http_reply_is_blank(line[at])))
            return http_reply_fail(reply, "invalid HTTP response: a bad chunk size");
        if (size > HTTP_REPLY_MAX_BODY - reply->body_size)
            return http_reply_fail(reply, "response too large");
        reply->left = size;
        reply->phase = size > 0 ? PHASE_CHUNK_DATA : PHASE_TRAILERS;
        return HTTP_REPLY_MORE;
    }
    case PHASE_CHUNK_END:
        if (length != 0)
            return http_reply_fail(reply, "invalid HTTP response: a chunk longer than its size");
        reply->phase = PHASE_CHUNK_SIZE;
        return HTTP_REPLY_MORE;
    case PHASE_TRAILERS:
        if (length != 0)
            return HTTP_REPLY_MORE; /* trailer fields are not kept */
        reply->phase = PHASE_DONE;
        return HTTP_REPLY_DONE;
    default:
        return http_reply_fail(reply, "invalid HTTP response");
    }
}

static int http_reply_in_line_phase(const struct http_reply *reply)
{
    return reply->phase == PHASE_STATUS || reply->phase == PHASE_HEADERS || reply->phase == PHASE_CHUNK_SIZE ||
           reply->phase == PHASE_CHUNK_END || reply->phase == PHASE_TRAILERS;
}

/* Body bytes: AVAILABLE of DATA, at most what the framing still expects. */
static size_t http_reply_take_body(struct http_reply *reply, const char *data, size_t available)
{
    size_t take = available;
    if (reply->phase != PHASE_UNTIL_CLOSE && take > reply->left)
        take = (size_t)reply->left;
    if (take > HTTP_REPLY_MAX_BODY - reply->body_size) {
        http_reply_fail(reply, "response too large");
        return 0;
    }
    if (http_reply_reserve(&reply->body, &reply->body_capacity, reply->body_size, take) < 0) {
        http_reply_fail(reply, "out of memory");
        return 0;
    }
    memcpy(reply->body + reply->body_size, data, take);
    reply->body_size += take;
    reply->body[reply->body_size] = '\0';
    if (reply->phase != PHASE_UNTIL_CLOSE)
        reply->left -= take;
    return take;
}

enum http_reply_state http_reply_feed(struct http_reply *reply, const char *data, size_t size, size_t *used)
{
    size_t at = 0;
    if (size > 0)
        reply->seen_bytes = 1;
    enum http_reply_state state = reply->phase == PHASE_DONE ? HTTP_REPLY_DONE
                                : reply->phase == PHASE_FAILED ? HTTP_REPLY_FAILED : HTTP_REPLY_MORE;
    while (state == HTTP_REPLY_MORE && at < size) {
        if (http_reply_in_line_phase(reply)) {
            const char *newline = memchr(data + at, '\n', size - at);
            size_t piece = newline != NULL ? (size_t)(newline - (data + at)) : size - at;
            size_t cap = reply->phase == PHASE_STATUS || reply->phase == PHASE_HEADERS
                             ? HTTP_REPLY_MAX_HEAD - reply->head_size : HTTP_REPLY_MAX_LINE;
            if (piece > cap - reply->line_size || reply->line_size + piece >= cap) {
                state = http_reply_fail(reply, "response too large");
                break;
            }
            const char *line = data + at;
            size_t length = piece;
            if (newline == NULL || reply->line_size > 0) { /* gather across pieces */
                if (http_reply_reserve(&reply->line, &reply->line_capacity, reply->line_size, piece) < 0) {
                    state = http_reply_fail(reply, "out of memory");
                    break;
                }
                memcpy(reply->line + reply->line_size, data + at, piece);
                reply->line_size += piece;
                reply->line[reply->line_size] = '\0';
                line = reply->line;
                length = reply->line_size;
            }
            at += piece;
            if (newline == NULL)
                break; /* the rest of the line comes later */
            at++; /* the LF */
            if (length > 0 && line[length - 1] == '\r')
                length--;
            state = http_reply_line(reply, line, length);
            reply->line_size = 0;
        } else if (reply->phase == PHASE_LENGTH || reply->phase == PHASE_CHUNK_DATA ||
                   reply->phase == PHASE_UNTIL_CLOSE) {
            size_t took = http_reply_take_body(reply, data + at, size - at);
            if (reply->phase == PHASE_FAILED) {
                state = HTTP_REPLY_FAILED;
                break;
            }
            at += took;
            if (reply->phase == PHASE_LENGTH && reply->left == 0) {
                reply->phase = PHASE_DONE;
                state = HTTP_REPLY_DONE;
            } else if (reply->phase == PHASE_CHUNK_DATA && reply->left == 0) {
                reply->phase = PHASE_CHUNK_END;
            }
        } else {
            state = http_reply_fail(reply, "invalid HTTP response");
        }
    }
    if (used != NULL)
        *used = at;
    return state;
}

enum http_reply_state http_reply_end(struct http_reply *reply)
{
    if (reply->phase == PHASE_DONE)
        return HTTP_REPLY_DONE;
    if (reply->phase == PHASE_FAILED)
        return HTTP_REPLY_FAILED;
    if (reply->phase == PHASE_UNTIL_CLOSE) {
        reply->phase = PHASE_DONE;
        return HTTP_REPLY_DONE;
    }
    return http_reply_fail(reply, reply->seen_bytes ? "connection closed before the response ended"
                                                    : "empty reply from server");
}
