/* validate.c: what each kind of value must look like, and the table-driven body check. */
#include "registry/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "registry/password.h"
#include "registry/problem.h"

long
validate_utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    while (*p != '\0') {
        int extra;
        unsigned cp;
        if (*p < 0x80) {
            p++;
            n++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            extra = 1;
            cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            extra = 2;
            cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            extra = 3;
            cp = *p & 0x07;
        } else {
            return -1;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (*p & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)
            || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return -1;
        }
        n++;
    }
    return n;
}

int
validate_text(const char *s, size_t min, size_t max)
{
    long n = validate_utf8_len(s);
    const unsigned char *p;

    if (n < 0 || (size_t)n < min || (size_t)n > max) {
        return 0;
    }
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        /* C0 controls, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F). */
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
            return 0;
        }
    }
    return 1;
}

/* `in` without its spaces, in capitals, into c[size]: a postcode's or an Eircode's letters and
 * digits. Their count, or -1 when `in` holds anything else or more than size - 1 of them. */
static long
code_compact(const char *in, char *c, size_t size)
{
    size_t n = 0;

    for (; *in != '\0'; in++) {
        if (*in == ' ') {
            continue;
        }
        if (!isalnum((unsigned char)*in) || n == size - 1) {
            return -1;
        }
        c[n++] = (char)toupper((unsigned char)*in);
    }
    c[n] = '\0';
    return (long)n;
}

int
validate_postcode(const char *in, char *out, size_t outlen)
{
    char c[8];
    long len = code_compact(in, c, sizeof(c));
    size_t n = len < 0 ? 0 : (size_t)len, i, outward;

    if (len < 0 || n < 5 || n > 7 || outlen < n + 2) {
        return -1;
    }
    /* Inward code: digit, letter, letter. */
    if (!isdigit((unsigned char)c[n - 3]) || !isalpha((unsigned char)c[n - 2])
        || !isalpha((unsigned char)c[n - 1])) {
        return -1;
    }
    outward = n - 3;
    if (strcmp(c, "GIR0AA") != 0) {
        /* Outward code: A9, A99, AA9, AA99, A9A, AA9A. */
        const char *o = c;
        size_t letters = 0;
        while (letters < outward && isalpha((unsigned char)o[letters])) {
            letters++;
        }
        if (letters < 1 || letters > 2 || letters == outward
            || !isdigit((unsigned char)o[letters])) {
            return -1;
        }
        for (i = letters + 1; i < outward; i++) {
            int last = i == outward - 1;
            if (!(isdigit((unsigned char)o[i]) || (last && isalpha((unsigned char)o[i])))) {
                return -1;
            }
        }
        if (outward - letters > 2) {
            return -1;
        }
    }
    memcpy(out, c, outward);
    out[outward] = ' ';
    memcpy(out + outward + 1, c + outward, 3);
    out[outward + 4] = '\0';
    return 0;
}

/* The letters an Eircode uses (routing key and unique identifier). */
#define EIRCODE_LETTERS "ACDEFHKNPRTVWXY"

int
validate_eircode(const char *in, char *out, size_t outlen)
{
    char c[8];
    long n = code_compact(in, c, sizeof(c));
    size_t i;

    if (n != 7 || outlen < EIRCODE_MAX) {
        return -1;
    }
    /* Routing key: a letter and two digits, or D6W. */
    if (strncmp(c, "D6W", 3) != 0
        && (strchr(EIRCODE_LETTERS, c[0]) == NULL || !isdigit((unsigned char)c[1])
            || !isdigit((unsigned char)c[2]))) {
        return -1;
    }
    /* Unique identifier: four of the digits and the letters above. */
    for (i = 3; i < 7; i++) {
        if (!isdigit((unsigned char)c[i]) && strchr(EIRCODE_LETTERS, c[i]) == NULL) {
            return -1;
        }
    }
    memcpy(out, c, 3);
    out[3] = ' ';
    memcpy(out + 4, c + 3, 5);
    return 0;
}

const char *
validate_postal_country(const char *country, const char *code)
{
    char out[EIRCODE_MAX > POSTCODE_MAX ? EIRCODE_MAX : POSTCODE_MAX];
    int eircode = validate_eircode(code, out, sizeof(out)) == 0;

    if (strcmp(country, "IE") == 0 && !eircode) {
        return "a site or organisation in Ireland (country IE) has an Eircode, e.g. D02 X285; a UK "
               "postcode needs country GB";
    }
    if (strcmp(country, "IE") != 0 && (eircode || validate_postcode(code, out, sizeof(out)) != 0)) {
        return "an address in the UK (country GB) has a UK postcode, e.g. ME4 4AB; an Eircode "
               "needs country IE";
    }
    return NULL;
}

int
validate_area_code(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (validate_gss_code(s)) {
        return 1;
    }
    return (n == 4 || n == 5) && strncmp(s, "IE-", 3) == 0 && isupper((unsigned char)s[3])
           && (n == 4 || isupper((unsigned char)s[4]));
}

int
validate_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *p, *dot;
    size_t n = strlen(s);

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || n > 254 || at - s > 64) {
        return 0;
    }
    for (p = s; p < at; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"(),:;<>[\\]", *p) != NULL) {
            return 0;
        }
    }
    if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL) {
        return 0;
    }
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0') {
        return 0;
    }
    for (p = at + 1; *p != '\0'; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.')) {
            return 0;
        }
        if (*p == '.' && (p[1] == '.' || p[1] == '-' || p[-1] == '-')) {
            return 0;
        }
    }
    return at[1] != '-' && at[1] != '.' && s[n - 1] != '-';
}

int
validate_uuid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != 36) {
        return 0;
    }
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int
validate_gss_code(const char *s)
{
    return s != NULL && strlen(s) == 9 && s[0] >= 'A' && s[0] <= 'Z'
           && strspn(s + 1, "0123456789") == 8;
}

int
validate_whole(const char *s, long min, long max, long *out)
{
    long v = 0;
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 9) {
            return 0;
        }
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

int
validate_date(const char *s)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, leap;
    size_t i;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) {
        return 0;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

int
validate_url(const char *s)
{
    const char *host;
    const char *p;

    if (strncmp(s, "https://", 8) == 0) {
        host = s + 8;
    } else if (strncmp(s, "http://", 7) == 0) {
        host = s + 7;
    } else {
        return 0;
    }
    if (strlen(s) > 2048 || !isalnum((unsigned char)*host)) {
        return 0;
    }
    for (p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' || *p == '<'
            || *p == '>' || *p == '\\') {
            return 0;
        }
    }
    for (p = host; *p != '\0' && *p != '/' && *p != ':' && *p != '?' && *p != '#'; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.')) {
            return 0;
        }
    }
    /* After the host: an optional numeric port, then the path. No userinfo ("a:b@host"),
     * or the host checked above would not be the host a browser visits. */
    if (*p == ':') {
        const char *port = ++p;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
        if (p == port || p - port > 5 || (*p != '\0' && *p != '/' && *p != '?' && *p != '#')) {
            return 0;
        }
    }
    return 1;
}

int
validate_phone(const char *s)
{
    int digits = 0;
    const char *p;

    for (p = s; *p != '\0'; p++) {
        if (isdigit((unsigned char)*p)) {
            digits++;
        } else if (strchr(" +()-", *p) == NULL || (*p == '+' && p != s)) {
            return 0;
        }
    }
    return digits >= 7 && digits <= 15 && strlen(s) <= 32;
}

int
validate_in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++) {
        if (strcmp(*list, s) == 0) {
            return 1;
        }
    }
    return 0;
}

int
validate_in_json_list(const json_t *list, const char *s)
{
    size_t i, n = json_array_size(list);

    for (i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(list, i));
        if (v != NULL && strcmp(v, s) == 0) {
            return 1;
        }
    }
    return 0;
}

static const struct field *
find_field(const struct field *fields, const char *name)
{
    for (; fields->name != NULL; fields++) {
        if (strcmp(fields->name, name) == 0) {
            return fields;
        }
    }
    return NULL;
}

/* Trims outer spaces of a string value in place (replacing it in the object). */
static const char *
trimmed(json_t *in, const char *key, json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = strlen(s), a = 0;

    while (s[a] == ' ') {
        a++;
    }
    while (n > a && s[n - 1] == ' ') {
        n--;
    }
    if (a == 0 && n == strlen(s)) {
        return s;
    }
    json_object_set_new(in, key, json_stringn(s + a, n - a));
    return json_string_value(json_object_get(in, key));
}

/* Checks one present value. Returns NULL when fine, or the detail. */
static const char *
check_value(json_t *in, const char *key, json_t *v, const struct field *f, char *buf, size_t len)
{
    const char *s;
    const char *const *c;
    char pc[POSTCODE_MAX];
    size_t i;

    if (json_is_null(v)) {
        return (f->flags & FIELD_NULLABLE) ? NULL : "must not be null";
    }
    switch (f->type) {
    case FIELD_BOOL:
        return json_is_boolean(v) ? NULL : "must be true or false";
    case FIELD_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min
            || json_integer_value(v) > f->max) {
            snprintf(buf, len, "must be a whole number from %ld to %ld", f->min, f->max);
            return buf;
        }
        return NULL;
    case FIELD_TEXT_LIST:
        if (!json_is_array(v) || json_array_size(v) < (size_t)f->min
            || json_array_size(v) > (size_t)f->max) {
            snprintf(buf, len, "must be a list of %ld to %ld strings", f->min, f->max);
            return buf;
        }
        for (i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            if (!json_is_string(item) || !validate_text(json_string_value(item), 1, 200)
                || strspn(json_string_value(item), " ") == strlen(json_string_value(item))) {
                return "each line must be text of 1 to 200 characters";
            }
        }
        return NULL;
    case FIELD_OBJECT:
        if (!json_is_object(v) || json_object_size(v) > (size_t)f->max) {
            snprintf(buf, len, "must be an object of at most %ld members", f->max);
            return buf;
        }
        return NULL;
    default:
        break;
    }
    if (!json_is_string(v)) {
        return "must be a string";
    }
    s = f->type == FIELD_SECRET ? json_string_value(v) : trimmed(in, key, v);
    switch (f->type) {
    case FIELD_TEXT:
        if (!validate_text(s, (size_t)f->min, (size_t)f->max)) {
            snprintf(buf, len, "must be text of %ld to %ld characters, without control characters",
                     f->min, f->max);
            return buf;
        }
        return NULL;
    case FIELD_ENUM:
        for (c = f->choices; *c != NULL; c++) {
            if (strcmp(*c, s) == 0) {
                return NULL;
            }
        }
        snprintf(buf, len, "must be one of:");
        for (c = f->choices; *c != NULL; c++) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s %s", c == f->choices ? "" : ",", *c);
        }
        return buf;
    case FIELD_DATE:
        return validate_date(s) ? NULL : "must be a date as YYYY-MM-DD";
    case FIELD_UUID:
        return validate_uuid(s) ? NULL : "must be a UUID";
    case FIELD_EMAIL:
        return validate_email(s) ? NULL : "must be an email address";
    case FIELD_URL:
        return validate_url(s) ? NULL : "must be an http:// or https:// address";
    case FIELD_PHONE:
        return validate_phone(s) ? NULL : "must be a phone number of 7 to 15 digits";
    case FIELD_POSTCODE:
        if (validate_postcode(s, pc, sizeof(pc)) != 0) {
            return "must be a UK postcode, e.g. ME4 4AB";
        }
        json_object_set_new(in, key, json_string(pc));
        return NULL;
    case FIELD_POSTAL:
        if (validate_postcode(s, pc, sizeof(pc)) != 0 && validate_eircode(s, pc, sizeof(pc)) != 0) {
            return "must be a UK postcode (e.g. ME4 4AB) or an Eircode (e.g. D02 X285)";
        }
        json_object_set_new(in, key, json_string(pc));
        return NULL;
    case FIELD_SECRET:
        if (validate_utf8_len(s) < 0) {
            return "must be valid UTF-8";
        }
        return NULL; /* strength is password_policy's business, with the email at hand */
    default:
        return "has an unsupported type";
    }
}

int
validate_fields(json_t *in, const struct field *fields, int creating, json_t *errors)
{
    const struct field *f;
    const char *key;
    json_t *v;
    void *tmp;
    char buf[256];
    int added = 0;

    json_object_foreach_safe(in, tmp, key, v)
    {
        const char *why;
        f = find_field(fields, key);
        if (f == NULL) {
            why = "is not a field of this resource";
        } else {
            why = check_value(in, key, v, f, buf, sizeof(buf));
        }
        if (why != NULL) {
            problem_add_error(errors, key, why);
            added++;
        }
    }
    if (creating) {
        for (f = fields; f->name != NULL; f++) {
            if ((f->flags & FIELD_REQUIRED) && json_object_get(in, f->name) == NULL) {
                problem_add_error(errors, f->name, "is required");
                added++;
            }
        }
    }
    return added;
}
