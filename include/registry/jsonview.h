/* jsonview.h: reading JSON text without building a tree (jsonview.c). One pass checks the text
 * and writes its values as a flat array of tokens, in the order they appear, with every string
 * decoded once into one buffer; a value is then its token's index. For text the server reads many
 * times a second (a provider search's answer, as the statement wrote it, for the finder's page),
 * where Jansson's tree cost more than the rest of the request (bench/README.md, issue 19).
 *
 * What it accepts is what json_loads(text, JSON_REJECT_DUPLICATES) accepts, but for two things it
 * does not check: that strings are valid UTF-8 (the database's text always is) and that an
 * object's names are distinct (jview_get finds the first). Strings decode as Jansson decodes them
 * (\uXXXX and surrogate pairs to UTF-8; \u0000 is refused), numbers as it reads them (an integer
 * without fraction or exponent, within long long; otherwise a double). */
#ifndef REGISTRY_JSONVIEW_H
#define REGISTRY_JSONVIEW_H

#include <stddef.h>

enum jview_type {
    JVIEW_OBJECT = 1,
    JVIEW_ARRAY,
    JVIEW_STRING,
    JVIEW_INTEGER,
    JVIEW_REAL,
    JVIEW_TRUE,
    JVIEW_FALSE,
    JVIEW_NULL,
};

/* One value. An object's members are its name (a STRING token) then its value, in turn. */
struct jview_tok {
    unsigned char type; /* enum jview_type */
    int next;           /* the index after this value and everything in it */
    int size;           /* OBJECT: members; ARRAY: elements */
    union {
        const char *str; /* STRING: decoded, NUL-terminated (in the view's buffer) */
        long long i;     /* INTEGER */
        double d;        /* REAL */
    } u;
};

/* Parsed JSON text: tokens 0..n-1, the first the whole value. */
struct jview {
    struct jview_tok *tok;
    int n, cap;
    char *strings; /* the decoded strings, each NUL-terminated */
};

void jview_init(struct jview *v);
void jview_cleanup(struct jview *v);

/* Parses `len` bytes of `text` (an object or an array, with only white space around it) into
 * `v` (jview_init'ed or cleaned up). Returns 0, or -1 when it is not such JSON or memory ran out
 * (then `v` holds nothing). */
int jview_parse(struct jview *v, const char *text, size_t len);

/* Accessors. A value is a token index; -1 is "no value" and every accessor takes it: what Jansson
 * answers for NULL (jview_str NULL, jview_size 0, ...). */

/* The value of member `key` of object `obj`, or -1 (not an object, or no such member). */
int jview_get(const struct jview *v, int obj, const char *key);

/* The first element of array `arr`, and the one after element `i` of it; -1 when there is none. */
int jview_first(const struct jview *v, int arr);
int jview_next(const struct jview *v, int arr, int i);

/* Element `n` of array `arr` (counting from 0), or -1. */
int jview_at(const struct jview *v, int arr, size_t n);

/* Elements of an array (0 for anything else). */
size_t jview_size(const struct jview *v, int i);

/* A string's text (borrowed from `v`), or NULL for anything else. */
const char *jview_str(const struct jview *v, int i);

/* 1 for true only. */
int jview_is_true(const struct jview *v, int i);

/* 1 for an object. */
int jview_is_object(const struct jview *v, int i);

/* An integer's value, else 0 (json_integer_value). */
long long jview_int(const struct jview *v, int i);

/* A number's value, integer or real, else 0.0 (json_number_value). */
double jview_num(const struct jview *v, int i);

#endif
