/* pyrepr: JSON values written as Python writes them, for the files FaaS
 * Runner's users read. FaaS Runner (a Python program) turns every
 * attribute of a run into text with str(): a float as Python's shortest
 * round-trip repr (122.0, 1996.52, 1e-05), True / False / None, a string
 * as it is, and a list or dict as its repr ("['a', 1]", "{'k': 'v'}",
 * strings in single quotes unless they hold one and no double quote). The
 * functions here append that text; pyrepr_round2 is Python's round(x, 2)
 * on a float. */
#ifndef FAASET_PYREPR_H
#define FAASET_PYREPR_H

#include <jansson.h>

#include "buffer.h"

/* Appends str(VALUE) as Python prints the value json.loads gives. */
void pyrepr_str(struct buffer *out, const json_t *value);

/* Appends repr(VALUE): as pyrepr_str, but a string quoted. */
void pyrepr_repr(struct buffer *out, const json_t *value);

/* Appends repr(VALUE) of a float: the shortest text that reads back as
 * VALUE, with ".0" when it is whole, in exponent form below 1e-4 and from
 * 1e16. */
void pyrepr_float(struct buffer *out, double value);

/* Python's round(VALUE, 2) for a float: the double nearest to VALUE
 * correctly rounded to two decimals (ties to even on the exact value). */
double pyrepr_round2(double value);

#endif
