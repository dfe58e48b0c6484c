/* public.h: the searches behind the open routes (/v1/public, public.c), shared by the JSON API
 * and the public pages (pages.c): each parses and checks its input exactly as the API does and
 * answers a JSON value, or says what went wrong without sending anything. */
#ifndef REGISTRY_PUBLIC_H
#define REGISTRY_PUBLIC_H

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"

enum public_fault {
    PUBLIC_OK = 0,
    PUBLIC_BAD_INPUT, /* 400: `field` names the parameter, `detail` says what is expected */
    PUBLIC_NOT_FOUND, /* 404: an unknown postcode, or no facilitator with that number */
    PUBLIC_DB_ERROR,  /* a database failure: `res` is the failed result (NULL: connection lost) */
    PUBLIC_INTERNAL,  /* 500: out of memory */
};

/* Why a search gave no answer. Postcodes and coordinates never appear in `detail`. */
struct public_error {
    enum public_fault fault;
    const char *field; /* BAD_INPUT and NOT_FOUND: "postcode", "lat", "lon", "radius_km",
                        * "limit", "self_referral", "with_upcoming", "starting_within_days",
                        * "place", "area",
                        * "name" or "registration_number"; a static string */
    enum public_postcode_kind {
        PUBLIC_POSTCODE_NONE,
        PUBLIC_POSTCODE_FULL,    /* a unit postcode was given ("ME4 4AB") */
        PUBLIC_POSTCODE_OUTWARD, /* an outward code alone ("ME4") */
    } postcode;                  /* for NOT_FOUND on "postcode": what kind was not found */
    char detail[160];            /* the problem detail the API sends */
    PGresult *res;               /* DB_ERROR: owned, cleared by public_error_cleanup */
};

void public_error_init(struct public_error *e);
void public_error_cleanup(struct public_error *e);

/* Sends `e` as the API's problem (problem_from_db for a database failure). Returns the status. */
int public_error_send(struct req *r, const struct public_error *e);

/* Find a provider: the query of GET /v1/public/providers (postcode | place [area] | lat and lon,
 * radius_km, limit, self_referral, starting_within_days, with_upcoming; `q` holds only known
 * names). Returns a new reference {"items": [...], "nearest_beyond": {...} | null}, or, when the
 * place's name fits several places, {"choices": [{name, area, country, lat, lon}]}; or NULL with
 * `e` set (NOT_FOUND on "place" when no place has that name). */
json_t *public_find_providers(struct db_conn *db, const struct query *q, struct public_error *e);

/* The same search, its answer as JSON text (malloc'd, NUL-terminated, `*len` bytes) without
 * building a tree: exactly what GET /v1/public/providers sends, {"items", "nearest_beyond",
 * "central_contact"} or {"choices", "central_contact"}. NULL with `e` set. */
char *public_find_providers_text(struct db_conn *db,
                                 const struct query *q,
                                 struct public_error *e,
                                 size_t *len);

/* The public register entry of registration number `number`. Returns a new reference, or NULL
 * with `e` set (NOT_FOUND when there is none). */
json_t *public_find_facilitator(struct db_conn *db, const char *number, struct public_error *e);

/* Register entries whose name starts with `name` (NULL: not given). Returns a new reference
 * {"items": [...]} (at most 20), or NULL with `e` set. */
json_t *public_find_facilitators(struct db_conn *db, const char *name, struct public_error *e);

/* The handlers of the open routes. */
extern const struct db_stmt public_stmts[];
/* GET /v1/public/providers?postcode=|lat=&lon=&radius_km=&limit=... */
int public_providers(struct req *r);
/* GET /v1/public/facilitators?name= */
int public_facilitators_search(struct req *r);
/* GET /v1/public/facilitators/{registration_number} */
int public_facilitators_get(struct req *r);

#endif
