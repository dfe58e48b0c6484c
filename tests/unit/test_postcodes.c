/* tests/unit/test_postcodes.c: the streaming CSV reader of the postcode import, the header's
 * column lookup, the row classification (terminated, unlocated, invalid) and the lookup's
 * normalisation of full postcodes and outward codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/postcodes.h"
#include "registry/validate.h"

/* A reader over the bytes of `text` (a copy: fmemopen needs a writable buffer). */
struct reader {
    char *data;
    FILE *f;
    struct postcodes_csv csv;
};

static void
reader_open_n(struct reader *r, const char *text, size_t len)
{
    r->data = malloc(len + 1);
    assert_non_null(r->data);
    memcpy(r->data, text, len);
    r->f = fmemopen(r->data, len > 0 ? len : 1, "r");
    assert_non_null(r->f);
    if (len == 0) {
        fgetc(r->f); /* fmemopen refuses size 0: consume the one byte, leaving nothing */
        r->data[0] = '\0';
    }
    assert_int_equal(postcodes_csv_init(&r->csv, r->f), 0);
}

static void
reader_open(struct reader *r, const char *text)
{
    reader_open_n(r, text, strlen(text));
}

static void
reader_close(struct reader *r)
{
    postcodes_csv_cleanup(&r->csv);
    fclose(r->f);
    free(r->data);
}

/* Reads one record and checks its fields: `want` is the fields joined with '|'. */
static void
expect_record(struct reader *r, const char *want)
{
    char got[1024] = "";
    int i;

    assert_int_equal(postcodes_csv_next(&r->csv), POSTCODES_CSV_RECORD);
    for (i = 0; i < r->csv.nfields; i++) {
        if (i > 0) {
            strcat(got, "|");
        }
        strcat(got, postcodes_csv_field(&r->csv, i));
    }
    assert_string_equal(got, want);
}

static void
test_csv_plain_and_quoted(void **state)
{
    struct reader r;

    (void)state;
    reader_open(&r, "a,b,c\n"
                    "\"ME4 4AB\",\"51.5\",\"\"\n"
                    "\"x,y\",\"say \"\"hi\"\"\",3\n"
                    ",,\n"
                    "last,no,newline");
    expect_record(&r, "a|b|c");
    expect_record(&r, "ME4 4AB|51.5|");
    expect_record(&r, "x,y|say \"hi\"|3");
    expect_record(&r, "||");
    expect_record(&r, "last|no|newline");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    reader_close(&r);
}

static void
test_csv_line_ends(void **state)
{
    struct reader r;

    (void)state;
    /* CRLF, LF, a lone CR, empty lines (skipped) and a line break inside quotes. */
    reader_open(&r, "a,b\r\n1,2\r\n\r\n\n3,4\n5,6\r7,\"multi\r\nline\"\r\n");
    expect_record(&r, "a|b");
    expect_record(&r, "1|2");
    expect_record(&r, "3|4");
    expect_record(&r, "5|6");
    expect_record(&r, "7|multi\r\nline");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    reader_close(&r);
}

static void
test_csv_malformed_resyncs(void **state)
{
    struct reader r;

    (void)state;
    reader_open(&r, "ok,1\n"
                    "bad\"quote,2\n"
                    "after,3\n"
                    "\"closed\"junk,4\n"
                    "again,5\n"
                    "\"never closed,6\n");
    expect_record(&r, "ok|1");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_MALFORMED);
    expect_record(&r, "after|3");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_MALFORMED);
    expect_record(&r, "again|5");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_MALFORMED);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    reader_close(&r);
}

static void
test_csv_overlong_record(void **state)
{
    size_t big = POSTCODES_RECORD_MAX + 100;
    char *text = malloc(big + 32);
    struct reader r;

    (void)state;
    assert_non_null(text);
    memset(text, 'x', big);
    strcpy(text + big, "\nnext,row\n");
    reader_open(&r, text);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_MALFORMED);
    expect_record(&r, "next|row");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    reader_close(&r);
    free(text);
}

static void
test_csv_many_fields_and_chunks(void **state)
{
    /* 200 fields a record (the field table grows) and 3 MiB of input (records straddle the
     * reader's 1 MiB chunks). */
    size_t cap = 3u << 20, len = 0;
    char *text = malloc(cap + 4096);
    long records = 0, got = 0;
    struct reader r;
    enum postcodes_csv_status st;
    int i;

    (void)state;
    assert_non_null(text);
    while (len < cap) {
        for (i = 0; i < 200; i++) {
            len += (size_t)sprintf(text + len, "%s\"f%d\"", i > 0 ? "," : "", i);
        }
        text[len++] = '\r';
        text[len++] = '\n';
        records++;
    }
    reader_open_n(&r, text, len);
    while ((st = postcodes_csv_next(&r.csv)) == POSTCODES_CSV_RECORD) {
        assert_int_equal(r.csv.nfields, 200);
        assert_string_equal(postcodes_csv_field(&r.csv, 0), "f0");
        assert_string_equal(postcodes_csv_field(&r.csv, 199), "f199");
        got++;
    }
    assert_int_equal(st, POSTCODES_CSV_EOF);
    assert_int_equal(got, records);
    assert_int_equal(r.csv.bytes, (long long)len);
    reader_close(&r);
    free(text);
}

static void
test_csv_empty(void **state)
{
    struct reader r;

    (void)state;
    reader_open(&r, "");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_EOF);
    reader_close(&r);
}

static void
test_columns_any_order(void **state)
{
    struct reader r;
    struct postcodes_columns cols;
    char err[200];

    (void)state;
    reader_open(&r, "\xEF\xBB\xBF\"pcd\",\"oseast1m\",\"LONG\",\"doterm\",\"pcd2\",\" lat \","
                    "\"pcds\",\"lsoa21\"\r\n");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(postcodes_columns_find(&r.csv, &cols, err, sizeof(err)), 0);
    assert_int_equal(cols.pcds, 6);
    assert_int_equal(cols.lat, 5);
    assert_int_equal(cols.lon, 2);
    assert_int_equal(cols.doterm, 3);
    assert_int_equal(cols.count, 8);
    reader_close(&r);
}

static void
test_columns_districts(void **state)
{
    struct reader r;
    struct postcodes_columns cols;
    char err[200];

    (void)state;
    /* ONSPD: oslaua; the NSPL's laua counts only when there is no oslaua. */
    reader_open(&r, "pcds,laua,lat,long,doterm,OSLAUA,ctry\n"
                    "pcds,lat,long,doterm,laua\n"
                    "pcds,lat,long,doterm\n");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(postcodes_columns_find(&r.csv, &cols, err, sizeof(err)), 0);
    assert_int_equal(cols.oslaua, 5);
    assert_int_equal(cols.ctry, 6);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(postcodes_columns_find(&r.csv, &cols, err, sizeof(err)), 0);
    assert_int_equal(cols.oslaua, 4);
    assert_int_equal(cols.ctry, -1);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(postcodes_columns_find(&r.csv, &cols, err, sizeof(err)), 0);
    assert_int_equal(cols.oslaua, -1);
    assert_int_equal(cols.ctry, -1);
    reader_close(&r);
}

/* Each record knows the line it starts on: empty lines, CRLF and quoted line breaks counted. */
static void
test_record_lines(void **state)
{
    struct reader r;

    (void)state;
    reader_open(&r, "a,b\r\n\r\nc,\"d\ne\"\nf\n\n\ng,\"unclosed\n");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(r.csv.line, 1);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(r.csv.line, 3);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(r.csv.line, 5);
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_MALFORMED);
    assert_int_equal(r.csv.line, 8);
    reader_close(&r);
}

static void
test_columns_missing(void **state)
{
    struct reader r;
    struct postcodes_columns cols;
    char err[200];

    (void)state;
    /* pcd is not pcds, latitude is not lat. */
    reader_open(&r, "\"pcd\",\"latitude\",\"long\",\"doterm\"\n");
    assert_int_equal(postcodes_csv_next(&r.csv), POSTCODES_CSV_RECORD);
    assert_int_equal(postcodes_columns_find(&r.csv, &cols, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has no pcds, lat columns"));
    reader_close(&r);
}

static void
test_row_classify(void **state)
{
    char pc[POSTCODE_MAX];
    double lat = 0, lon = 0;

    (void)state;
    assert_int_equal(postcodes_row_classify("me44ab", "51.385300", "0.523300", "", pc, &lat, &lon),
                     POSTCODES_ROW_OK);
    assert_string_equal(pc, "ME4 4AB");
    assert_true(lat > 51.3852 && lat < 51.3854);
    assert_true(lon > 0.5232 && lon < 0.5234);
    assert_int_equal(postcodes_row_classify("TR18 3JT", " 50.123 ", "-5.537", " ", pc, &lat, &lon),
                     POSTCODES_ROW_OK);
    assert_true(lon < -5.5);

    /* Terminated first, whatever else the row holds. */
    assert_int_equal(postcodes_row_classify("ME4 4AB", "51.3", "0.5", "201904", pc, &lat, &lon),
                     POSTCODES_ROW_TERMINATED);
    assert_int_equal(postcodes_row_classify("junk", "99.999999", "0", "200012", pc, &lat, &lon),
                     POSTCODES_ROW_TERMINATED);

    /* Invalid postcodes. */
    assert_int_equal(postcodes_row_classify("ME4", "51.3", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_INVALID);
    assert_int_equal(postcodes_row_classify("", "51.3", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_INVALID);
    assert_int_equal(postcodes_row_classify("ME4 4A!", "51.3", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_INVALID);

    /* Unlocated: the ONS marker, empty, not a decimal number, off the map. */
    assert_int_equal(postcodes_row_classify("ME4 4AB", "99.999999", "0.000000", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "", "", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "51.3", "east", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "0x33", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "nan", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "51.3.1", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "48.9", "0.5", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
    assert_int_equal(postcodes_row_classify("ME4 4AB", "51.3", "2.6", "", pc, &lat, &lon),
                     POSTCODES_ROW_UNLOCATED);
}

static void
test_normalise(void **state)
{
    char out[POSTCODE_MAX];

    (void)state;
    assert_int_equal(postcodes_normalise("me44ab", out, sizeof(out)), POSTCODES_FULL);
    assert_string_equal(out, "ME4 4AB");
    assert_int_equal(postcodes_normalise(" me4 ", out, sizeof(out)), POSTCODES_OUTWARD);
    assert_string_equal(out, "ME4");
    assert_int_equal(postcodes_normalise("sw1a", out, sizeof(out)), POSTCODES_OUTWARD);
    assert_string_equal(out, "SW1A");
    assert_int_equal(postcodes_normalise("M1", out, sizeof(out)), POSTCODES_OUTWARD);
    assert_int_equal(postcodes_normalise("BS10", out, sizeof(out)), POSTCODES_OUTWARD);
    assert_int_equal(postcodes_normalise("W1A", out, sizeof(out)), POSTCODES_OUTWARD);
    assert_int_equal(postcodes_normalise("ME", out, sizeof(out)), POSTCODES_MALFORMED);
    assert_int_equal(postcodes_normalise("4ME", out, sizeof(out)), POSTCODES_MALFORMED);
    assert_int_equal(postcodes_normalise("ABC1", out, sizeof(out)), POSTCODES_MALFORMED);
    assert_int_equal(postcodes_normalise("ME123", out, sizeof(out)), POSTCODES_MALFORMED);
    assert_int_equal(postcodes_normalise("ME4;", out, sizeof(out)), POSTCODES_MALFORMED);
    assert_int_equal(postcodes_normalise("", out, sizeof(out)), POSTCODES_MALFORMED);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_csv_plain_and_quoted),
          cmocka_unit_test(test_csv_line_ends),
          cmocka_unit_test(test_csv_malformed_resyncs),
          cmocka_unit_test(test_csv_overlong_record),
          cmocka_unit_test(test_csv_many_fields_and_chunks),
          cmocka_unit_test(test_csv_empty),
          cmocka_unit_test(test_columns_any_order),
          cmocka_unit_test(test_columns_missing),
          cmocka_unit_test(test_columns_districts),
          cmocka_unit_test(test_record_lines),
          cmocka_unit_test(test_row_classify),
          cmocka_unit_test(test_normalise))
