/* validate.h: validators for the values the API accepts, and a table-driven check of a JSON
 * request body against its fields. Pure functions: unit tested without a server. */
#ifndef REGISTRY_VALIDATE_H
#define REGISTRY_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

#define POSTCODE_MAX 9 /* "SW1A 1AA" plus NUL */

/* Normalises a UK postcode ("me4 4ab" -> "ME4 4AB") into out. Returns 0, or -1 if invalid. */
int validate_postcode(const char *in, char *out, size_t outlen);

#define EIRCODE_MAX 9 /* "D02 X285" plus NUL */

/* Normalises an Eircode, routing key and unique identifier ("d02x285" -> "D02 X285"), into out
 * (at least EIRCODE_MAX bytes). Returns 0, or -1 if invalid. */
int validate_eircode(const char *in, char *out, size_t outlen);

/* Whether postal code `code` (normalised) has the form of `country` ("GB": a UK postcode; "IE":
 * an Eircode). Returns NULL when it has, or the detail saying what each country needs. */
const char *validate_postal_country(const char *country, const char *code);

/* 1 when `s` is a local area code: an ONS GSS code (a UK district, validate_gss_code) or an Irish
 * county's ISO 3166-2 code ("IE-CO", "IE-D"). */
int validate_area_code(const char *s);

/* 1 when the value is acceptable, 0 otherwise. */
int validate_email(const char *s);
int validate_uuid(const char *s);
int validate_date(const char *s); /* YYYY-MM-DD, a real calendar date */
/* A whole number of digits only from min to max into *out: 1, or 0 (and *out untouched). */
int validate_whole(const char *s, long min, long max, long *out);
int validate_url(const char *s);   /* http:// or https:// with a host */
int validate_phone(const char *s); /* digits, spaces, +, (, ), -; 7 to 15 digits */
/* An ONS GSS code: a capital letter and 8 digits, as E06000035 (Medway) or E92000001 (England). */
int validate_gss_code(const char *s);

/* 1 when `s` is valid UTF-8 without control characters, of min..max characters. */
int validate_text(const char *s, size_t min, size_t max);

/* 1 when `s` is one of the strings in the NULL-terminated `list`. */
int validate_in_list(const char *const *list, const char *s);
/* 1 when the JSON array `list` holds the string `s` (0 when `list` is not an array). */
int validate_in_json_list(const json_t *list, const char *s);

/* The number of UTF-8 characters in s, or -1 when it is not valid UTF-8. */
long validate_utf8_len(const char *s);

enum field_type {
    FIELD_TEXT, /* string of min..max characters, trimmed of outer spaces */
    FIELD_ENUM, /* one of `choices` */
    FIELD_BOOL,
    FIELD_INT,  /* min..max */
    FIELD_DATE, /* YYYY-MM-DD */
    FIELD_UUID,
    FIELD_EMAIL,    /* stored as given, compared case-insensitively */
    FIELD_POSTCODE, /* normalised in place */
    FIELD_POSTAL,   /* a UK postcode or an Eircode, normalised in place (the country is the
                     * resource's rule) */
    FIELD_URL,
    FIELD_PHONE,
    FIELD_TEXT_LIST, /* array of min..max strings, each 1..200 characters */
    FIELD_SECRET,    /* a password or token: any valid UTF-8 string; policy is checked apart */
    FIELD_OBJECT, /* a JSON object of at most max members; its contents are the hooks' to check */
};

#define FIELD_REQUIRED 0x1 /* must be present when creating */
#define FIELD_NULLABLE 0x2 /* null is accepted (clears the value) */

struct field {
    const char *name;
    enum field_type type;
    unsigned flags;
    long min, max;
    const char *const *choices; /* FIELD_ENUM: NULL-terminated */
};

/* Checks the object `in` against `fields` ({NULL}-terminated): unknown keys, wrong types,
 * values out of range, and (when `creating`) missing required fields each append one
 * {field, detail} to `errors`. Normalises values in place (trims text, upper-cases postcodes).
 * Returns the number of errors added. */
int validate_fields(json_t *in, const struct field *fields, int creating, json_t *errors);

#endif
