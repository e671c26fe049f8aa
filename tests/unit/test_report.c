/* Tests for report.c and pyrepr.c: FaaS Runner's report of a fixed set of
 * runs, checked two ways against values computed by hand from FaaS
 * Runner's documented format and its report generator's rules: the whole
 * text, and a small parser of that format (sections "Category X:", their
 * header and value lines, "Total number of unique Xs: N", the raw runs of
 * a group) that finds single cells by section, column and value. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buffer.h"
#include "check.h"
#include "pyrepr.h"
#include "report.h"

/* ---- a parser of FaaS Runner's report ---- */

/* The line after the line TITLE, or NULL. */
static const char *parse_section(const char *text, const char *title)
{
    size_t length = strlen(title);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, title, length) == 0 && line[length] == '\n')
            return line + length + 1;
    }
    return NULL;
}

/* Field INDEX of the CSV line LINE (no quoting in FaaS Runner's format) into OUT. */
static int parse_field(const char *line, int index, char *out, size_t size)
{
    for (int i = 0; i < index; i++) {
        line = strpbrk(line, ",\n");
        if (line == NULL || *line == '\n')
            return -1;
        line++;
    }
    size_t length = strcspn(line, ",\n");
    snprintf(out, size, "%.*s", (int)length, line);
    return 0;
}

/* The column of NAME in the header line HEADER, or -1. */
static int parse_column(const char *header, const char *name)
{
    char field[256];
    for (int i = 0; parse_field(header, i, field, sizeof field) == 0; i++)
        if (strcmp(field, name) == 0)
            return i;
    return -1;
}

/* The cell of COLUMN in the line of SECTION (a header, then lines up to a
 * blank one or "Total number of unique") whose first field is KEY. */
static const char *parse_cell(const char *text, const char *section, const char *key, const char *column)
{
    static char value[512];
    const char *header = parse_section(text, section);
    if (header == NULL)
        return NULL;
    int index = parse_column(header, column);
    for (const char *line = strchr(header, '\n') + 1; *line && *line != '\n'; line = strchr(line, '\n') + 1) {
        char first[256];
        if (strncmp(line, "Total number of unique", 22) == 0)
            break;
        if (index >= 0 && parse_field(line, 0, first, sizeof first) == 0 && strcmp(first, key) == 0 &&
            parse_field(line, index, value, sizeof value) == 0)
            return value;
    }
    return NULL;
}

static int same(const char *a, const char *b)
{
    if (a == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "  got %s, expected %s\n", a ? a : "(none)", b);
        return 0;
    }
    return 1;
}

/* ---- the runs ---- */

/* r3 is invalidated (bad = True); r2 and r4 lack msg. */
static const char *const RUNS =
    "["
    "{\"1_run_id\":\"0\",\"2_thread_id\":\"0\",\"kind\":\"a\",\"cpuType\":\"X\",\"uuid\":\"u1\",\"containerID\":\"c1\","
    "\"startTime\":\"1000\",\"endTime\":\"1100\",\"runtime\":\"100\",\"newcontainer\":\"1\",\"cost\":\"0.5\","
    "\"lang\":\"python\",\"vmID\":\"v1\",\"bad\":\"False\",\"msg\":\"x;y\"},"
    "{\"1_run_id\":\"1\",\"2_thread_id\":\"0\",\"kind\":\"a\",\"cpuType\":\"X\",\"uuid\":\"u1\",\"containerID\":\"c1\","
    "\"startTime\":\"1050\",\"endTime\":\"1150\",\"runtime\":\"100.25\",\"newcontainer\":\"0\",\"cost\":\"1.25\","
    "\"lang\":\"python\",\"vmID\":\"v2\",\"bad\":\"False\",\"msg\":\"hello\"},"
    "{\"1_run_id\":\"0\",\"2_thread_id\":\"1\",\"kind\":\"b\",\"cpuType\":\"Y\",\"uuid\":\"u2\",\"containerID\":\"c2\","
    "\"startTime\":\"1000\",\"endTime\":\"1300\",\"runtime\":\"200\",\"newcontainer\":\"1\",\"cost\":\"2\","
    "\"lang\":\"python\",\"vmID\":\"v1\",\"bad\":\"False\"},"
    "{\"1_run_id\":\"2\",\"2_thread_id\":\"0\",\"kind\":\"a\",\"cpuType\":\"X\",\"uuid\":\"u3\",\"containerID\":\"c3\","
    "\"startTime\":\"1000\",\"endTime\":\"1100\",\"runtime\":\"50\",\"newcontainer\":\"1\",\"cost\":\"9\","
    "\"lang\":\"python\",\"vmID\":\"v3\",\"bad\":\"True\",\"msg\":\"m\"},"
    "{\"1_run_id\":\"1\",\"2_thread_id\":\"1\",\"kind\":\"b\",\"cpuType\":\"Y\",\"uuid\":\"u2\",\"containerID\":\"c2\","
    "\"startTime\":\"1100\",\"endTime\":\"1200\",\"runtime\":\"100.5\",\"newcontainer\":\"0\",\"cost\":\"1\","
    "\"lang\":\"python\",\"vmID\":\"v1\",\"bad\":\"False\"}"
    "]";

static const char *const EXPERIMENT =
    "{\"runs\": 4, \"threads\": 2, \"parentPayload\": {\"p\": \"x\"}, \"payloads\": [{\"n\": 1}, {\"n\": 2, \"p\": \"y\"}],"
    " \"outputGroups\": [\"kind\", \"uuid\", \"missing\", \"cpuType\", \"vmuptime\"], \"outputRawOfGroup\": [\"kind\"],"
    " \"showAsList\": [\"vmID\"], \"showAsSum\": [\"newcontainer\", \"cost\"], \"ignoreFromAll\": [\"lang\"],"
    " \"ignoreFromGroups\": [\"1_run_id\", \"2_thread_id\", \"bad\"],"
    " \"ignoreByGroup\": {\"kind\": [\"kind\", \"startTime\", \"endTime\"]},"
    " \"invalidators\": {\"bad\": true}, \"overlapFilter\": \"kind\"}";

/* Computed by hand. runtimeOverlap among runs of one kind: r0 [1000,1100]
 * is half covered by r1 and wholly by r3 (1.5); r1 [1050,1150] half by r0
 * and half by r3 (1.0); r2 [1000,1300] a third by r4 (0.33); r4 wholly by
 * r2 (1.0). Groups leave r3 out. Y's mean overlap (0.33 + 1.0) / 2 = 0.665
 * rounds half to even, to 0.66; X's mean runtime 100.125 to 100.12. */
static const char *const EXPECTED =
    "2024-01-02 03:04:05.000006 - Python Partest Version 0.5\n"
    "Setting up test: runsperthread=2 threads=2 totalruns=4 payload=[{'p': 'x' 'n': 1} {'p': 'y' 'n': 2}]\n"
    "\n"
    "Raw results of each run:\n"
    "1_run_id,2_thread_id,bad,containerID,cost,cpuType,endTime,kind,msg,newcontainer,runtime,runtimeOverlap,"
    "startTime,uuid,vmID\n"
    "0,0,False,c1,0.5,X,1100,a,x;y,1,100,1.5,1000,u1,v1\n"
    "1,0,False,c1,1.25,X,1150,a,hello,0,100.25,1.0,1050,u1,v2\n"
    "0,1,False,c2,2,Y,1300,b,-999999999999,1,200,0.33,1000,u2,v1\n"
    "2,0,True,c3,9,X,1100,a,m,1,50,1.5,1000,u3,v3\n"
    "1,1,False,c2,1,Y,1200,b,-999999999999,0,100.5,1.0,1100,u2,v1\n"
    "Successful Runs: 5\n"
    "\n"
    "1 runs removed from categories....\n"
    "\n"
    "Category cpuType:\n"
    "cpuType,uses,sum_cost,avg_endTime,sum_newcontainer,avg_runtime,avg_runtimeOverlap,avg_startTime,vmID_list\n"
    "X,2,1.75,1125.00,1,100.12,1.25,1025.00,['v1'; 'v2']\n"
    "Y,2,3,1250.00,1,150.25,0.66,1050.00,['v1']\n"
    "Total number of unique cpuTypes: 2\n"
    "\n"
    "Category kind:\n"
    "kind,uses,sum_cost,sum_newcontainer,avg_runtime,avg_runtimeOverlap,vmID_list\n"
    "a,2,1.75,1,100.12,1.25,['v1'; 'v2']\n"
    "b,2,3,1,150.25,0.66,['v1']\n"
    "Total number of unique kinds: 2\n"
    "\n"
    "--- Runs of Group kind ---\n"
    "\n"
    "Category kind with a:\n"
    "containerID,cost,cpuType,msg,newcontainer,runtime,runtimeOverlap,uuid,vmID\n"
    "c1,0.5,X,x;y,1,100,1.5,u1,v1\n"
    "c1,1.25,X,hello,0,100.25,1.0,u1,v2\n"
    "\n"
    "Category kind with b:\n"
    "containerID,cost,cpuType,msg,newcontainer,runtime,runtimeOverlap,uuid,vmID\n"
    "c2,2,Y,-999999999999,1,200,0.33,u2,v1\n"
    "c2,1,Y,-999999999999,0,100.5,1.0,u2,v1\n";

static void test_report_of_fixed_runs(void)
{
    json_t *rows = json_loads(RUNS, 0, NULL), *experiment = json_loads(EXPERIMENT, 0, NULL);
    struct buffer text = {0};
    report_text(rows, experiment, "2024-01-02 03:04:05.000006", &text);
    CHECK(same(text.data, EXPECTED));
    /* the same facts through the parser */
    CHECK(same(parse_cell(text.data, "Category cpuType:", "Y", "avg_runtimeOverlap"), "0.66"));
    CHECK(same(parse_cell(text.data, "Category cpuType:", "X", "uses"), "2"));
    CHECK(same(parse_cell(text.data, "Category kind:", "a", "sum_cost"), "1.75"));
    CHECK(same(parse_cell(text.data, "Category kind:", "b", "vmID_list"), "['v1']"));
    CHECK(parse_cell(text.data, "Category kind:", "a", "avg_kind") == NULL);       /* ignoreByGroup */
    CHECK(parse_cell(text.data, "Category kind:", "a", "avg_startTime") == NULL);
    CHECK(parse_cell(text.data, "Category kind:", "a", "avg_1_run_id") == NULL);   /* ignoreFromGroups */
    CHECK(same(parse_cell(text.data, "Raw results of each run:", "2", "runtimeOverlap"), "1.5"));
    CHECK(same(parse_cell(text.data, "Category kind with b:", "c2", "runtimeOverlap"), "0.33"));
    CHECK(parse_section(text.data, "Category uuid:") == NULL);     /* containerID is there */
    CHECK(parse_section(text.data, "Category missing:") == NULL);  /* no run has it */
    CHECK(parse_section(text.data, "Category vmuptime:") == NULL); /* vmID is there */
    CHECK(parse_section(text.data, "Category :") == NULL);
    CHECK(json_array_size(rows) == 4); /* r3 is out, as FaaS Runner takes it out of its list */
    buffer_free(&text);
    json_decref(rows);
    json_decref(experiment);
}

static void test_uuid_group_without_container_and_lone_overlap(void)
{
    json_t *rows = json_loads("[{\"uuid\":\"u1\",\"startTime\":\"5\",\"endTime\":\"5\",\"kind\":\"a\",\"t\":\"0.125\"},"
                              "{\"uuid\":\"u1\",\"startTime\":\"5\",\"endTime\":\"9\",\"kind\":\"b\",\"t\":\"0.375\"}]",
                              0, NULL);
    json_t *experiment = json_loads("{\"outputGroups\": [\"uuid\"], \"overlapFilter\": \"kind\"}", 0, NULL);
    struct buffer text = {0};
    report_text(rows, experiment, "now", &text);
    /* no run shares a kind: the sum stays FaaS Runner's integer 0 */
    CHECK(same(parse_cell(text.data, "Raw results of each run:", "5", "runtimeOverlap"), "0"));
    CHECK(same(parse_cell(text.data, "Category uuid:", "u1", "avg_t"), "0.25"));
    CHECK(strstr(text.data, "Total number of unique uuids: 1\n") != NULL);
    CHECK(same(strstr(text.data, "Setting up test:"), "Setting up test: runsperthread=1 threads=10 totalruns=10 "
                                                      "payload=[{}]\n\nRaw results of each run:\n"
                                                      "endTime,kind,runtimeOverlap,startTime,t,uuid\n"
                                                      "5,a,0,5,0.125,u1\n9,b,0,5,0.375,u1\n"
                                                      "Successful Runs: 2\n\nCategory uuid:\n"
                                                      "uuid,uses,avg_endTime,avg_runtimeOverlap,avg_startTime,avg_t\n"
                                                      "u1,2,7.00,0.00,5.00,0.25\n"
                                                      "Total number of unique uuids: 1\n"));
    buffer_free(&text);
    json_decref(rows);
    json_decref(experiment);
}

static const char *repr_of(const char *json)
{
    static char out[256];
    json_t *value = json_loads(json, JSON_DECODE_ANY, NULL);
    struct buffer text = {0};
    pyrepr_repr(&text, value);
    snprintf(out, sizeof out, "%s", text.data ? text.data : "");
    buffer_free(&text);
    json_decref(value);
    return out;
}

static void test_python_text(void)
{
    CHECK(same(repr_of("122.0"), "122.0"));
    CHECK(same(repr_of("1996.52"), "1996.52"));
    CHECK(same(repr_of("0.30000000000000004"), "0.30000000000000004"));
    CHECK(same(repr_of("1e-05"), "1e-05"));
    CHECK(same(repr_of("0.0001"), "0.0001"));
    CHECK(same(repr_of("1e16"), "1e+16"));
    CHECK(same(repr_of("1234567890123456.0"), "1234567890123456.0"));
    CHECK(same(repr_of("-0.0"), "-0.0"));
    CHECK(same(repr_of("[\"it's\", \"a\\\\b\", true, null, 3, {\"k\": \"v\\n\"}]"),
               "[\"it's\", 'a\\\\b', True, None, 3, {'k': 'v\\n'}]"));
    CHECK(pyrepr_round2(0.125) == 0.12 && pyrepr_round2(2.675) == 2.67 && pyrepr_round2(1.005) == 1.0);
}

int main(void)
{
    test_report_of_fixed_runs();
    test_uuid_group_without_container_and_lone_overlap();
    test_python_text();
    return check_report();
}
