/* resources.h: the handlers and statement tables of every resource room. One block per
 * server/<resource>.c; the router's table is the only caller. */
#ifndef REGISTRY_RESOURCES_H
#define REGISTRY_RESOURCES_H

#include "registry/db.h"
#include "registry/http.h"

/* health.c */
extern const struct db_stmt health_stmts[];
int health_live(struct req *r);         /* GET /healthz */
int health_ready(struct req *r);        /* GET /readyz */
int health_problem_page(struct req *r); /* GET /problems/{slug} */

/* tokens.c: sign-in, refresh, logout, JWKS */
extern const struct db_stmt tokens_stmts[];
int tokens_create(struct req *r);  /* POST /v1/auth/token */
int tokens_refresh(struct req *r); /* POST /v1/auth/refresh */
int tokens_logout(struct req *r);  /* POST /v1/auth/logout */
int tokens_jwks(struct req *r);    /* GET /.well-known/jwks.json */

/* Deletes refresh tokens that expired or were revoked more than `days` days ago (the daily
 * pruning job). Returns how many, or -1 on a database error. */
long tokens_prune(struct db_conn *c, int days);

#define TOKENS_ATTEMPT_LEN 24 /* room for an attempt's id */

/* Starts a password check for `email` (sign-in or password change) from the request's client
 * address, in its own short transaction: 429 with Retry-After while that account is throttled
 * for that address (failures there beyond the free ones impose a doubling wait); otherwise the
 * attempt is recorded as in flight and its id written to `attempt`. End it with
 * tokens_attempt_end_or_problem. Returns 0 or the status sent. */
int tokens_attempt_or_problem(struct req *r, const char *email, char attempt[TOKENS_ATTEMPT_LEN]);

/* Ends an attempt: `ok` deletes it and the failures of its account from its address; otherwise
 * it counts as a failure. Runs on r->db, inside the caller's transaction if one is open. Returns
 * 0 or the status sent. */
int tokens_attempt_end_or_problem(struct req *r, const char *attempt, const char *email, int ok);

/* clients.c: API clients (OAuth 2.0 client credentials) and their secrets */
extern const struct db_stmt clients_stmts[];
int clients_create(struct req *r);        /* POST /v1/clients */
int clients_list(struct req *r);          /* GET /v1/clients */
int clients_delete(struct req *r);        /* DELETE /v1/clients/{id} */
int clients_rotate_secret(struct req *r); /* POST /v1/clients/{id}/secrets */

/* Deletes API-client secrets that expired (were replaced) or were revoked more than `days` days
 * ago (the daily pruning job). Returns how many, or -1 on a database error. */
long clients_prune_secrets(struct db_conn *c, int days);

/* A client that proved its secret. */
struct client_info {
    char id[40];     /* api_client.id (UUID): the `sub` of its tokens */
    char org[40];    /* its organisation */
    char scope[160]; /* its scopes, space-separated */
    long long epoch; /* its token epoch (principal_epoch), carried in its tokens */
    int licensed;    /* 1 when its organisation holds an active licence today */
};

/* 1 when `scope` is one an API client may hold. */
int clients_scope_known(const char *scope);

/* Hex SHA-256 of a secret's text: the only form in which one is stored. */
void clients_secret_digest(const char *secret, char hex[65]);

/* Checks `client_id`/`secret` against the live secrets of a live client (constant-time
 * comparisons). Returns 1 with `out` filled, 0 when they do not match, or -1 after answering a
 * database failure. Needs r->db. */
int clients_check_secret_or_problem(struct req *r,
                                    const char *client_id,
                                    const char *secret,
                                    struct client_info *out);

/* Revokes `secret` when it is a live secret of `client`, with an audit row, in its own
 * transaction (RFC 7009: anything else is quietly ignored). Returns 0, or the status sent. */
int clients_revoke_secret_or_problem(struct req *r,
                                     const struct client_info *client,
                                     const char *secret);

/* tokens.c: POST /v1/auth/revoke (RFC 7009) */
int tokens_revoke(struct req *r);

/* users.c */
extern const struct db_stmt users_stmts[];
int users_create(struct req *r);   /* POST /v1/users */
int users_list(struct req *r);     /* GET /v1/users */
int users_get(struct req *r);      /* GET /v1/users/{id} ("me" for the caller) */
int users_me(struct req *r);       /* GET /v1/users/me */
int users_update(struct req *r);   /* PATCH /v1/users/{id} */
int users_password(struct req *r); /* POST /v1/users/me/password */

#include "registry/licences.h"
#include "registry/organisations.h"

/* facilitators.c */
extern const struct db_stmt facilitators_stmts[];
int facilitators_create(struct req *r); /* POST /v1/facilitators */
int facilitators_list(struct req *r);   /* GET /v1/facilitators */
int facilitators_get(
    struct req *r); /* GET /v1/facilitators/{id}: a UUID, or a registration number (MPF-...) */
int facilitators_update(struct req *r); /* PATCH /v1/facilitators/{id} */
int
facilitators_eligibility(struct req *r); /* GET /v1/facilitators/{id}/eligibility?on=YYYY-MM-DD */
int facilitators_status_check(struct req *r); /* POST /v1/facilitators/status-check */
/* POST and GET /v1/facilitators/{id}/employment-requests, GET and PATCH .../{request id}. */
int facilitators_employment_request_create(struct req *r);
int facilitators_employment_requests_list(struct req *r);
int facilitators_employment_request_get(struct req *r);
int facilitators_employment_request_update(struct req *r);
/* Gives facilitators and licences their scheduled changes due by today (the daily job; each
 * change to one of them does it for that one first). Returns how many changed, or -1. */
long facilitators_apply_scheduled(struct db_conn *db);

/* courses.c */
extern const struct db_stmt courses_stmts[];
int courses_create(struct req *r); /* POST /v1/courses */
int courses_list(struct req *r);   /* GET /v1/courses */
int courses_get(struct req *r);    /* GET /v1/courses/{id} */
int courses_update(struct req *r); /* PATCH /v1/courses/{id} */

/* training.c */
extern const struct db_stmt training_stmts[];
int training_create(struct req *r);   /* POST /v1/training-sessions */
int training_list(struct req *r);     /* GET /v1/training-sessions */
int training_get(struct req *r);      /* GET /v1/training-sessions/{id} */
int training_update(struct req *r);   /* PATCH /v1/training-sessions/{id} */
int enrolments_create(struct req *r); /* POST /v1/training-sessions/{id}/enrolments */
int enrolments_list(struct req *r);   /* GET /v1/training-sessions/{id}/enrolments */
int enrolments_get(struct req *r);    /* GET /v1/training-sessions/{id}/enrolments/{eid} */
int enrolments_update(struct req *r); /* PATCH /v1/training-sessions/{id}/enrolments/{eid} */
int training_outcomes(struct req *r); /* POST /v1/training-sessions/{id}/outcomes */

#include "registry/locations.h"

/* programmes.c */
extern const struct db_stmt programmes_stmts[];
int programmes_create(struct req *r); /* POST /v1/programmes */
int programmes_list(struct req *r);   /* GET /v1/programmes */
int programmes_get(struct req *r);    /* GET /v1/programmes/{id} */
int programmes_update(struct req *r); /* PATCH /v1/programmes/{id} */
/* Enqueues programme.at_risk for each run of facilitator `facilitator_id` now at risk (their
 * stored status suspended or withdrawn), in the caller's transaction. Returns 0, or the status of
 * the problem already sent. */
int programmes_flag_at_risk(struct req *r, const char *facilitator_id);

/* reports.c */
extern const struct db_stmt reports_stmts[];
int reports_summary(struct req *r);  /* GET /v1/reports/summary */
int reports_expiring(struct req *r); /* GET /v1/reports/expiring?within_days=60 */

/* public.c */
extern const struct db_stmt public_stmts[];
int public_providers(
    struct req *r); /* GET /v1/public/providers?postcode=|lat=&lon=&radius_km=&limit=... */
int public_facilitators_search(struct req *r); /* GET /v1/public/facilitators?name= */
int public_facilitators_get(struct req *r); /* GET /v1/public/facilitators/{registration_number} */

/* pages.c: the public pages (HTML) */
int pages_home(struct req *r);    /* GET / */
int pages_find(struct req *r);    /* GET /find?postcode=&radius= | lat=&lon=&radius= */
int pages_check(struct req *r);   /* GET /check?q=<registration number or name> */
int pages_console(struct req *r); /* GET /console */
int pages_portal(struct req *r);  /* GET /portal */
int pages_docs(struct req *r);    /* GET /docs */

/* openreferral.c */
extern const struct db_stmt openreferral_stmts[];
int openreferral_info(struct req *r);     /* GET /openreferral/ */
int openreferral_services(struct req *r); /* GET /openreferral/services */
int openreferral_service(struct req *r);  /* GET /openreferral/services/{id} */
int openreferral_service_at_locations(
    struct req *r); /* GET /openreferral/service_at_locations?postcode=&proximity= */
int openreferral_organizations(struct req *r); /* GET /openreferral/organizations */

/* webhooks.c (the outbox and the worker: webhooks.h) */
extern const struct db_stmt webhooks_stmts[];
int webhooks_create(struct req *r);     /* POST /v1/webhooks */
int webhooks_list(struct req *r);       /* GET /v1/webhooks */
int webhooks_get(struct req *r);        /* GET /v1/webhooks/{id} */
int webhooks_delete(struct req *r);     /* DELETE /v1/webhooks/{id} */
int webhooks_deliveries(struct req *r); /* GET /v1/webhooks/{id}/deliveries */

#endif
