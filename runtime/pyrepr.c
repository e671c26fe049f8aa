/* pyrepr: Python's str() and repr() of JSON values (see pyrepr.h). A
 * float's repr is found as Python finds it: the fewest significant digits
 * (1 to 17) that read back as the same double, then written fixed when
 * its decimal exponent is from -4 to 15 and with an exponent otherwise.
 * Non-ASCII text is written as it is, as Python 3 does for printable
 * characters. */
#include "pyrepr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pyrepr_float(struct buffer *out, double value)
{
    if (isnan(value)) {
        buffer_puts(out, "nan");
        return;
    }
    if (isinf(value)) {
        buffer_puts(out, value < 0 ? "-inf" : "inf");
        return;
    }
    char text[40];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(text, sizeof text, "%.*e", digits - 1, value);
        if (strtod(text, NULL) == value)
            break;
    }
    snprintf(text, sizeof text, "%.*e", digits - 1, value);
    int exponent = atoi(strchr(text, 'e') + 1);
    if (exponent < -4 || exponent >= 16) {
        buffer_puts(out, text); /* "1.5e-05", "1e+16": C's form is Python's */
        return;
    }
    int decimals = digits - 1 - exponent;
    snprintf(text, sizeof text, "%.*f", decimals > 0 ? decimals : 0, value);
    buffer_puts(out, text);
    if (decimals <= 0)
        buffer_puts(out, ".0");
}

double pyrepr_round2(double value)
{
    char text[400];
    snprintf(text, sizeof text, "%.2f", value); /* glibc rounds the exact binary value, ties to even */
    return strtod(text, NULL);
}

static void pyrepr_quoted(struct buffer *out, const char *text, size_t length)
{
    char quote = memchr(text, '\'', length) != NULL && memchr(text, '"', length) == NULL ? '"' : '\'';
    buffer_append(out, &quote, 1);
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\\' || c == (unsigned char)quote)
            buffer_printf(out, "\\%c", c);
        else if (c == '\n')
            buffer_puts(out, "\\n");
        else if (c == '\r')
            buffer_puts(out, "\\r");
        else if (c == '\t')
            buffer_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buffer_printf(out, "\\x%02x", c);
        else
            buffer_append(out, &text[i], 1);
    }
    buffer_append(out, &quote, 1);
}

static void pyrepr_any(struct buffer *out, const json_t *value, int quoted)
{
    size_t i;
    const char *key;
    json_t *item;
    switch (json_typeof(value)) {
    case JSON_STRING:
        if (quoted)
            pyrepr_quoted(out, json_string_value(value), json_string_length(value));
        else
            buffer_append(out, json_string_value(value), json_string_length(value));
        return;
    case JSON_INTEGER:
        buffer_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return;
    case JSON_REAL:
        pyrepr_float(out, json_real_value(value));
        return;
    case JSON_TRUE:
        buffer_puts(out, "True");
        return;
    case JSON_FALSE:
        buffer_puts(out, "False");
        return;
    case JSON_NULL:
        buffer_puts(out, "None");
        return;
    case JSON_ARRAY:
        buffer_puts(out, "[");
        json_array_foreach(value, i, item) {
            if (i > 0)
                buffer_puts(out, ", ");
            pyrepr_any(out, item, 1);
        }
        buffer_puts(out, "]");
        return;
    case JSON_OBJECT:
        buffer_puts(out, "{");
        i = 0;
        json_object_foreach((json_t *)value, key, item) {
            if (i++ > 0)
                buffer_puts(out, ", ");
            pyrepr_quoted(out, key, strlen(key));
            buffer_puts(out, ": ");
            pyrepr_any(out, item, 1);
        }
        buffer_puts(out, "}");
        return;
    }
}

void pyrepr_str(struct buffer *out, const json_t *value)
{
    if (value != NULL)
        pyrepr_any(out, value, 0);
}

void pyrepr_repr(struct buffer *out, const json_t *value)
{
    if (value != NULL)
        pyrepr_any(out, value, 1);
}
