/* tests/unit/test_keys.c: key files, JWKS, ES256 signing and strict verification. */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <jwt.h>

#include "../test_main.h"
#include "registry/keys.h"

struct fixture {
    char dir[64];
    char path[4096];
    EVP_PKEY *pkey; /* the generated key, read back independently */
    char kid[64];
};

/* Independent helpers: none of these use server/keys.c. */

static char *
b64url(const unsigned char *in, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(n * 4 / 3 + 4);
    size_t o = 0, i;
    uint32_t bits = 0;
    int nbits = 0;

    assert_non_null(out);
    for (i = 0; i < n; i++) {
        bits = (bits << 8) | in[i];
        nbits += 8;
        while (nbits >= 6) {
            nbits -= 6;
            out[o++] = al[(bits >> nbits) & 63];
        }
    }
    if (nbits > 0) {
        out[o++] = al[(bits << (6 - nbits)) & 63];
    }
    out[o] = '\0';
    return out;
}

static char *
b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

static EVP_PKEY *
read_pkey(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *pkey;

    assert_non_null(f);
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    return pkey;
}

static char *
public_pem(EVP_PKEY *pkey, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem = NULL, *copy;
    long n;

    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    n = BIO_get_mem_data(bio, &mem);
    assert_true(n > 0);
    copy = malloc((size_t)n + 1);
    assert_non_null(copy);
    memcpy(copy, mem, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    BIO_free(bio);
    return copy;
}

/* RFC 7638 thumbprint computed from the key itself, with its own JSON and digest code. */
static void
thumbprint_of(EVP_PKEY *pkey, char *kid, char *xo, char *yo)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char bx[32], by[32], md[32];
    char *ex, *ey, *e, json[256];
    unsigned int mdlen = 0;

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    assert_int_equal(BN_bn2binpad(x, bx, 32), 32);
    assert_int_equal(BN_bn2binpad(y, by, 32), 32);
    ex = b64url(bx, 32);
    ey = b64url(by, 32);
    snprintf(json, sizeof json, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", ex,
             ey);
    assert_int_equal(EVP_Digest(json, strlen(json), md, &mdlen, EVP_sha256(), NULL), 1);
    e = b64url(md, mdlen);
    strcpy(kid, e);
    if (xo != NULL) {
        strcpy(xo, ex);
    }
    if (yo != NULL) {
        strcpy(yo, ey);
    }
    free(e);
    free(ex);
    free(ey);
    BN_free(x);
    BN_free(y);
}

/* Raw r || s ES256 signature of msg. */
static void
es256_sign_raw(EVP_PKEY *pkey, const char *msg, unsigned char out[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    const unsigned char *p = der;
    size_t derlen = sizeof der;
    ECDSA_SIG *sig;
    const BIGNUM *r, *s;

    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(md, der, &derlen, (const unsigned char *)msg, strlen(msg)), 1);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    assert_non_null(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    assert_int_equal(BN_bn2binpad(r, out, 32), 32);
    assert_int_equal(BN_bn2binpad(s, out + 32, 32), 32);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
}

enum sig_mode { SIG_ES256, SIG_EMPTY, SIG_HS256 };

/* Builds header.payload.signature from raw JSON texts. Returns a malloc'd token. */
static char *
make_token(const char *header,
           const char *payload,
           enum sig_mode mode,
           EVP_PKEY *pkey,
           const unsigned char *hkey,
           size_t hkeylen)
{
    char *h = b64url_str(header), *p = b64url_str(payload), *s, *token;
    size_t n = strlen(h) + strlen(p) + 2;
    unsigned char sig[64];
    unsigned int siglen = 0;

    token = malloc(n + 200);
    assert_non_null(token);
    snprintf(token, n, "%s.%s", h, p);
    if (mode == SIG_ES256) {
        es256_sign_raw(pkey, token, sig);
        s = b64url(sig, 64);
    } else if (mode == SIG_HS256) {
        assert_non_null(HMAC(EVP_sha256(), hkey, (int)hkeylen, (const unsigned char *)token,
                             strlen(token), sig, &siglen));
        s = b64url(sig, siglen);
    } else {
        s = strdup("");
    }
    strcat(token, ".");
    strcat(token, s);
    free(h);
    free(p);
    free(s);
    return token;
}

static int
verifies(const char *token)
{
    json_t *claims = (json_t *)0x1;
    int rc = keys_verify(token, &claims);

    if (rc == 0) {
        assert_true(json_is_object(claims));
        json_decref(claims);
    } else {
        assert_null(claims);
    }
    return rc == 0;
}

/* Fails unless the token of `header` and `payload`, signed ES256 with the fixture's key, is
 * refused. */
static void
es256_refused(const struct fixture *f, const char *header, const char *payload)
{
    char *t = make_token(header, payload, SIG_ES256, f->pkey, NULL, 0);

    assert_false(verifies(t));
    free(t);
}

/* As es256_refused with the header printf makes of `header_fmt` and the fixture's kid. */
static void
es256_refused_kid(const struct fixture *f, const char *header_fmt, const char *payload)
{
    char hdr[256];

    snprintf(hdr, sizeof hdr, header_fmt, f->kid);
    es256_refused(f, hdr, payload);
}

static void
remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[4096];

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char p[4096];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
write_key(const char *dir, const char *name, EVP_PKEY *pkey, int traditional, int with_params)
{
    char p[4096];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    if (with_params) {
        fputs("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n", f);
    }
    if (traditional) {
        BIO *b = BIO_new_fp(f, BIO_NOCLOSE);

        assert_non_null(b);
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, pkey, NULL, NULL, 0, NULL, NULL),
                         1);
        BIO_free(b);
    } else {
        assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    }
    fclose(f);
}

static void
set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};

    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512];

    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_keys_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(f->dir, f->path, sizeof f->path, err, sizeof err), 0);
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    f->pkey = read_pkey(f->path);
    thumbprint_of(f->pkey, f->kid, NULL, NULL);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    keys_unload();
    EVP_PKEY_free(f->pkey);
    remove_tree(f->dir);
    free(f);
    return 0;
}

static void
test_generate_file(void **state)
{
    struct fixture *f = *state;
    char sub[128], path[4096], other[4096], err[512], expect_tail[32];
    const char *base;
    struct stat st;
    FILE *fp;
    char line[64];
    EVP_PKEY *pkey;
    char kid[64];
    int i;

    snprintf(sub, sizeof sub, "%s/new", f->dir);
    assert_int_equal(keys_generate(sub, path, sizeof path, err, sizeof err), 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    /* <YYYYMMDDTHHMMSSZ>-<kid[0..8]>.pem */
    base = strrchr(path, '/') + 1;
    assert_int_equal(strlen(base), 16 + 1 + 8 + 4);
    for (i = 0; i < 16; i++) {
        if (i == 8) {
            assert_int_equal(base[i], 'T');
        } else if (i == 15) {
            assert_int_equal(base[i], 'Z');
        } else {
            assert_true(base[i] >= '0' && base[i] <= '9');
        }
    }
    pkey = read_pkey(path);
    thumbprint_of(pkey, kid, NULL, NULL);
    snprintf(expect_tail, sizeof expect_tail, "-%.8s.pem", kid);
    assert_string_equal(base + 16, expect_tail);
    EVP_PKEY_free(pkey);

    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n");

    /* A path where the folder should be is an error, not a crash. */
    assert_int_equal(keys_generate(path, other, sizeof other, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
}

static void
test_sign_verify_roundtrip(void **state)
{
    struct fixture *f = *state;
    json_t *claims =
        json_pack("{s:s, s:s, s:I, s:{s:[i,i]}, s:s}", "sub", "user-1", "role", "admin", "exp",
                  (json_int_t)4102444800, "nested", "a", 1, 2, "name", "Zo\xc3\xab");
    json_t *back = NULL, *hdr;
    char *token, *dot, *hseg;
    unsigned char raw[512];
    size_t i, n = 0;

    (void)f;
    token = keys_sign(claims);
    assert_non_null(token);
    assert_int_equal(keys_verify(token, &back), 0);
    assert_non_null(back);
    assert_true(json_equal(claims, back));
    json_decref(back);

    /* The header names ES256, our kid and typ JWT; decode it independently. */
    dot = strchr(token, '.');
    assert_non_null(dot);
    hseg = strndup(token, (size_t)(dot - token));
    {
        BIO *b64 = BIO_new(BIO_f_base64()), *mem;
        char std[512];
        size_t len = strlen(hseg);

        for (i = 0; i < len; i++) {
            std[i] = hseg[i] == '-' ? '+' : hseg[i] == '_' ? '/' : hseg[i];
        }
        while (i % 4 != 0) {
            std[i++] = '=';
        }
        std[i] = '\0';
        mem = BIO_new_mem_buf(std, (int)i);
        BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
        b64 = BIO_push(b64, mem);
        n = (size_t)BIO_read(b64, raw, sizeof raw);
        BIO_free_all(b64);
    }
    hdr = json_loadb((const char *)raw, n, 0, NULL);
    assert_non_null(hdr);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), f->kid);
    assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
    json_decref(hdr);
    free(hseg);

    /* The signature segment is a raw 64-byte r || s: 86 base64url characters. */
    assert_int_equal(strlen(strrchr(token, '.') + 1), 86);

    free(token);
    /* Only objects can be signed. */
    assert_null(keys_sign(NULL));
    back = json_array();
    assert_null(keys_sign(back));
    json_decref(back);
    json_decref(claims);
}

static void
test_jwks_thumbprint(void **state)
{
    struct fixture *f = *state;
    json_t *jwks = keys_jwks(), *keys, *k;
    char x[64], y[64], kid[64];

    assert_non_null(jwks);
    keys = json_object_get(jwks, "keys");
    assert_true(json_is_array(keys));
    assert_int_equal(json_array_size(keys), 1);
    k = json_array_get(keys, 0);
    thumbprint_of(f->pkey, kid, x, y);
    assert_non_null(keys_signing_kid());
    assert_string_equal(keys_signing_kid(), kid);
    assert_string_equal(json_string_value(json_object_get(k, "kid")), kid);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(k, "x")), x);
    assert_string_equal(json_string_value(json_object_get(k, "y")), y);
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    assert_int_equal(json_object_size(k), 7);
    assert_null(json_object_get(k, "d")); /* never publish the private part */
    json_decref(jwks);
}

static void
test_tampering(void **state)
{
    struct fixture *f = *state;
    json_t *claims = json_pack("{s:s, s:i}", "sub", "user-1", "exp", 2000000000);
    char *token = keys_sign(claims), *t, *sig, *payload;
    size_t len;

    (void)f;
    assert_non_null(token);
    assert_true(verifies(token));
    len = strlen(token);
    sig = strrchr(token, '.') + 1;
    payload = strchr(token, '.') + 1;

    /* One signature character changed. */
    t = strdup(token);
    t[(sig - token) + 10] = t[(sig - token) + 10] == 'A' ? 'B' : 'A';
    assert_false(verifies(t));
    free(t);

    /* One payload character changed. */
    t = strdup(token);
    t[(payload - token) + 5] = t[(payload - token) + 5] == 'A' ? 'B' : 'A';
    assert_false(verifies(t));
    free(t);

    /* Only the unused low bits of the last signature character changed: same bytes, but not
     * the one canonical encoding, so it must be refused too. */
    t = strdup(token);
    {
        static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        int v = (int)(strchr(al, t[len - 1]) - al);

        t[len - 1] = al[v ^ 1];
    }
    assert_false(verifies(t));
    free(t);

    /* Padding and standard-alphabet characters. */
    t = malloc(len + 3);
    snprintf(t, len + 3, "%s==", token);
    assert_false(verifies(t));
    free(t);
    t = strdup(token);
    t[(sig - token) + 3] = '+';
    assert_false(verifies(t));
    t[(sig - token) + 3] = '/';
    assert_false(verifies(t));
    free(t);

    /* Truncated signature. */
    t = strndup(token, len - 2);
    assert_false(verifies(t));
    free(t);

    free(token);
    json_decref(claims);
}

/* Verifies `token` and says whether the signature was checked (a cache miss) or remembered. */
static int
verify_counted(const char *token, int *ok)
{
    long long h0, m0, h1, m1;

    keys_cache_stats(&h0, &m0);
    *ok = verifies(token);
    keys_cache_stats(&h1, &m1);
    assert_true((h1 - h0) + (m1 - m0) <= 1);
    return m1 > m0 ? 'm' : h1 > h0 ? 'h' : '-';
}

static void
test_verified_cache(void **state)
{
    struct fixture *f = *state;
    long long now = (long long)time(NULL);
    json_t *live = json_pack("{s:s, s:I}", "sub", "cache-1", "exp", (json_int_t)(now + 3600));
    json_t *old = json_pack("{s:s, s:I}", "sub", "cache-2", "exp", (json_int_t)(now - 10));
    json_t *noexp = json_pack("{s:s}", "sub", "cache-3");
    char *token = keys_sign(live), *expired = keys_sign(old), *forever = keys_sign(noexp), *t;
    char err[512], *payload;
    int ok;

    assert_non_null(token);
    assert_non_null(expired);
    assert_non_null(forever);

    /* Checked once, then remembered. */
    assert_int_equal(verify_counted(token, &ok), 'm');
    assert_true(ok);
    assert_int_equal(verify_counted(token, &ok), 'h');
    assert_true(ok);

    /* A remembered token gives back the claims it was signed with, to every caller. */
    {
        json_t *c1 = NULL, *c2 = NULL;

        assert_int_equal(keys_verify(token, &c1), 0);
        assert_int_equal(keys_verify(token, &c2), 0);
        assert_non_null(c1);
        assert_non_null(c2);
        assert_true(json_equal(c1, live));
        assert_true(json_equal(c2, live));
        json_decref(c1);
        json_decref(c2);
    }

    /* A remembered token does not vouch for another payload under its signature. */
    t = strdup(token);
    payload = strchr(t, '.') + 1;
    payload[5] = payload[5] == 'A' ? 'B' : 'A';
    assert_int_equal(verify_counted(t, &ok), 'm');
    assert_false(ok);
    free(t);

    /* Reloading the keys forgets what was verified under the old set. */
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    assert_int_equal(verify_counted(token, &ok), 'm');
    assert_true(ok);
    assert_int_equal(verify_counted(token, &ok), 'h');

    /* Tokens already expired, or without an exp, are checked every time (the claims check
     * refuses them anyway). */
    assert_int_equal(verify_counted(expired, &ok), 'm');
    assert_int_equal(verify_counted(expired, &ok), 'm');
    assert_int_equal(verify_counted(forever, &ok), 'm');
    assert_int_equal(verify_counted(forever, &ok), 'm');
    assert_true(ok);

    free(token);
    free(expired);
    free(forever);
    json_decref(live);
    json_decref(old);
    json_decref(noexp);
}

static void
test_algorithms(void **state)
{
    struct fixture *f = *state;
    char hdr[256], *t, *pubpem;
    size_t publen = 0;
    const char *payload = "{\"sub\":\"attacker\",\"role\":\"admin\",\"exp\":4102444800}";
    static const char *const other[] = {"RS256", "ES384", "ES512",  "PS256", "HS256",
                                        "none",  "es256", "ES256 ", "EdDSA"};
    size_t i;

    /* Positive control: the test's own ES256 builder does produce an accepted token, so the
     * refusals below are about the header, not the builder. */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", f->kid);
    t = make_token(hdr, payload, SIG_ES256, f->pkey, NULL, 0);
    assert_true(verifies(t));
    free(t);

    /* alg none, empty signature (with and without kid). */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"kid\":\"%s\"}", f->kid);
    t = make_token(hdr, payload, SIG_EMPTY, NULL, NULL, 0);
    assert_false(verifies(t));
    free(t);
    t = make_token("{\"alg\":\"none\"}", payload, SIG_EMPTY, NULL, NULL, 0);
    assert_false(verifies(t));
    free(t);

    /* Algorithm confusion: HS256 keyed with our public PEM (and with the public JWK x). */
    pubpem = public_pem(f->pkey, &publen);
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", f->kid);
    t = make_token(hdr, payload, SIG_HS256, NULL, (const unsigned char *)pubpem, publen);
    assert_false(verifies(t));
    free(t);
    free(pubpem);

    /* Other labels on an otherwise valid ES256 signature. */
    for (i = 0; i < sizeof other / sizeof other[0]; i++) {
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"%s\"}", other[i], f->kid);
        es256_refused(f, hdr, payload);
    }

    /* alg missing, or not a string. */
    es256_refused_kid(f, "{\"kid\":\"%s\"}", payload);
    es256_refused_kid(f, "{\"alg\":[\"ES256\"],\"kid\":\"%s\"}", payload);
}

static void
test_kid(void **state)
{
    struct fixture *f = *state;
    const char *payload = "{\"sub\":\"x\"}";

    es256_refused(f, "{\"alg\":\"ES256\",\"kid\":\"no-such-key\"}", payload);
    es256_refused(f, "{\"alg\":\"ES256\"}", payload);
    es256_refused(f, "{\"alg\":\"ES256\",\"kid\":7}", payload);
    /* A prefix of the real kid is not the kid. */
    es256_refused_kid(f, "{\"alg\":\"ES256\",\"kid\":\"%.8s\"}", payload);
    /* A kid with an embedded NUL after the real one. */
    es256_refused_kid(f, "{\"alg\":\"ES256\",\"kid\":\"%s\\u0000x\"}", payload);
}

static void
test_shapes(void **state)
{
    struct fixture *f = *state;
    char hdr[256], *t;
    json_t *claims = NULL;

    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", f->kid);
    /* Validly signed payloads that are not one JSON object without duplicates. */
    es256_refused(f, hdr, "[1,2]");
    es256_refused(f, hdr, "{\"sub\":\"a\",\"sub\":\"b\"}");
    es256_refused(f, hdr, "{\"sub\":");
    es256_refused(f, hdr, "{\"sub\":\"a\\u0000b\"}");
    /* Header: not an object, duplicate alg, crit. */
    es256_refused(f, "\"ES256\"", "{}");
    es256_refused_kid(f, "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"%s\"}", "{}");
    es256_refused_kid(f, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"]}", "{}");
    /* An empty object payload is fine. */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", f->kid);
    t = make_token(hdr, "{}", SIG_ES256, f->pkey, NULL, 0);
    assert_int_equal(keys_verify(t, &claims), 0);
    assert_int_equal(json_object_size(claims), 0);
    json_decref(claims);
    /* A NULL claims pointer is refused, not dereferenced. */
    assert_int_equal(keys_verify(t, NULL), -1);
    free(t);
}

static void
test_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        ".",
        "..",
        "...",
        "a",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "a..c",
        ".b.c",
        "a.b.",
        "!!.@@.##",
        "e30.e30.",
        "e30=.e30.e30",
        "\xff\xfe.\x80.\x01",
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    };
    char *huge, *t;
    size_t i, n = 200000;
    json_t *claims;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(verifies(bad[i]));
    }
    assert_false(verifies(NULL));
    huge = malloc(n + 1);
    assert_non_null(huge);
    memset(huge, 'A', n);
    huge[n] = '\0';
    huge[1000] = '.';
    huge[2000] = '.';
    assert_false(verifies(huge));
    /* Just over the 8 KiB limit, shaped like a token. */
    huge[2000] = 'A';
    huge[8193] = '\0';
    huge[8193 - 87] = '.';
    assert_false(verifies(huge));
    free(huge);

    /* A validly signed token just over 8 KiB whose segments are each small enough to decode
     * is refused by its total size. */
    {
        struct fixture *f = *state;
        char *pad = malloc(3501), *hdr = malloc(4000), *pl = malloc(4000);

        memset(pad, 'p', 3500);
        pad[3500] = '\0';
        snprintf(hdr, 4000, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"x-pad\":\"%s\"}", f->kid, pad);
        snprintf(pl, 4000, "{\"sub\":\"u\",\"pad\":\"%s\"}", pad);
        t = make_token(hdr, pl, SIG_ES256, f->pkey, NULL, 0);
        assert_true(strlen(t) > 8192);
        assert_false(verifies(t));
        free(t);
        /* The same shape under the limit is accepted, so the size is what was refused. */
        pad[2000] = '\0';
        snprintf(hdr, 4000, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"x-pad\":\"%s\"}", f->kid, pad);
        snprintf(pl, 4000, "{\"sub\":\"u\",\"pad\":\"%s\"}", pad);
        t = make_token(hdr, pl, SIG_ES256, f->pkey, NULL, 0);
        assert_true(strlen(t) <= 8192);
        assert_true(verifies(t));
        free(t);
        free(pad);
        free(hdr);
        free(pl);
    }

    /* A valid token with a huge payload claim is refused by size. */
    claims = json_pack("{s:s}", "pad", "x");
    t = malloc(9000);
    memset(t, 'x', 8999);
    t[8999] = '\0';
    json_object_set_new(claims, "pad", json_string(t));
    free(t);
    t = keys_sign(claims);
    assert_non_null(t);
    assert_true(strlen(t) > 8192);
    assert_false(verifies(t));
    free(t);
    json_decref(claims);
}

static void
test_two_keys(void **state)
{
    struct fixture *f = *state;
    char path2[4096], err[512], kid2[64];
    json_t *claims = json_pack("{s:s}", "sub", "u"), *jwks;
    char *t1, *t2;
    EVP_PKEY *pkey2;

    t1 = keys_sign(claims); /* signed by the first key */
    assert_non_null(t1);
    assert_int_equal(keys_generate(f->dir, path2, sizeof path2, err, sizeof err), 0);
    pkey2 = read_pkey(path2);
    thumbprint_of(pkey2, kid2, NULL, NULL);
    assert_string_not_equal(kid2, f->kid);

    /* The newer file signs, even when its name sorts first. */
    set_mtime(f->path, 1700000000);
    set_mtime(path2, 1700000100);
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    assert_string_equal(keys_signing_kid(), kid2);
    t2 = keys_sign(claims);
    assert_non_null(t2);
    assert_true(verifies(t1));
    assert_true(verifies(t2));
    jwks = keys_jwks();
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
    json_decref(jwks);

    set_mtime(f->path, 1700000200);
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    assert_string_equal(keys_signing_kid(), f->kid);

    /* Same mtime: the greater name signs. */
    set_mtime(f->path, 1700000300);
    set_mtime(path2, 1700000300);
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    assert_string_equal(keys_signing_kid(), strcmp(f->path, path2) > 0 ? f->kid : kid2);

    /* Only the second key left: tokens of the first no longer verify. */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(keys_load(f->dir, err, sizeof err), 0);
    assert_string_equal(keys_signing_kid(), kid2);
    assert_false(verifies(t1));
    assert_true(verifies(t2));

    free(t1);
    free(t2);
    EVP_PKEY_free(pkey2);
    json_decref(claims);
}

static void
expect_load_error(const char *dir, const char *needle)
{
    char err[512];

    memset(err, 0, sizeof err);
    assert_int_equal(keys_load(dir, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    if (strstr(err, needle) == NULL) {
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    }
}

static void
test_load_errors(void **state)
{
    struct fixture *f = *state;
    char d[256], e[256];
    EVP_PKEY *other;
    FILE *fp;
    char p[512];

    snprintf(d, sizeof d, "%s/missing", f->dir);
    expect_load_error(d, "missing");

    snprintf(e, sizeof e, "%s/empty", f->dir);
    assert_int_equal(mkdir(e, 0700), 0);
    expect_load_error(e, "empty");
    write_file(e, "notes.txt", "not a key\n");
    expect_load_error(e, "empty"); /* still no *.pem */

    write_file(e, "hello.pem", "hello\n");
    expect_load_error(e, "hello.pem");
    assert_int_equal(unlink(strcat(strcpy(p, e), "/hello.pem")), 0);

    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    write_key(e, "p384.pem", other, 0, 0);
    expect_load_error(e, "p384.pem");
    EVP_PKEY_free(other);
    assert_int_equal(unlink(strcat(strcpy(p, e), "/p384.pem")), 0);

    /* Another 256-bit curve: same sizes, wrong curve. */
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    assert_non_null(other);
    write_key(e, "k1.pem", other, 1, 0);
    expect_load_error(e, "k1.pem");
    EVP_PKEY_free(other);
    assert_int_equal(unlink(strcat(strcpy(p, e), "/k1.pem")), 0);

    other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    write_key(e, "rsa.pem", other, 1, 0);
    expect_load_error(e, "rsa.pem");
    assert_int_equal(unlink(strcat(strcpy(p, e), "/rsa.pem")), 0);
    EVP_PKEY_free(other);

    /* A FIFO named *.pem is refused at once instead of blocking the load. */
    snprintf(p, sizeof p, "%s/fifo.pem", e);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_load_error(e, "fifo.pem");
    assert_int_equal(unlink(p), 0);

    /* A public key only. */
    snprintf(p, sizeof p, "%s/pub.pem", e);
    fp = fopen(p, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PUBKEY(fp, f->pkey), 1);
    fclose(fp);
    expect_load_error(e, "pub.pem");
    assert_int_equal(unlink(p), 0);

    /* A passphrase-protected key fails without prompting. */
    snprintf(p, sizeof p, "%s/enc.pem", e);
    fp = fopen(p, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, f->pkey, EVP_aes_256_cbc(), (unsigned char *)"secret",
                                          6, NULL, NULL),
                     1);
    fclose(fp);
    expect_load_error(e, "enc.pem");
    expect_load_error(e, "passphrase");
    assert_int_equal(unlink(p), 0);

    /* A good key plus a bad one: the whole load fails, naming the bad one. */
    write_key(e, "good.pem", f->pkey, 0, 0);
    write_file(e, "zz-bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    expect_load_error(e, "zz-bad.pem");
    /* The same key twice. */
    assert_int_equal(unlink(strcat(strcpy(p, e), "/zz-bad.pem")), 0);
    write_key(e, "copy.pem", f->pkey, 1, 0);
    expect_load_error(e, "same key");

    /* A failed load leaves the loaded keys in place. */
    assert_string_equal(keys_signing_kid(), f->kid);
}

static void
test_pem_forms(void **state)
{
    struct fixture *f = *state;
    char d[256], err[512];
    json_t *claims = json_pack("{s:s}", "sub", "u"), *back = NULL;
    char *t;

    /* SEC1 "EC PRIVATE KEY", preceded by an "EC PARAMETERS" block as `openssl ecparam
     * -genkey` writes it, loads as the same key. */
    snprintf(d, sizeof d, "%s/sec1", f->dir);
    assert_int_equal(mkdir(d, 0700), 0);
    write_key(d, "k.pem", f->pkey, 1, 1);
    assert_int_equal(keys_load(d, err, sizeof err), 0);
    assert_string_equal(keys_signing_kid(), f->kid);
    t = keys_sign(claims);
    assert_non_null(t);
    assert_int_equal(keys_verify(t, &back), 0);
    assert_true(json_equal(back, claims));
    json_decref(back);
    free(t);
    json_decref(claims);
}

static void
test_libjwt_crosscheck(void **state)
{
    struct fixture *f = *state;
    json_t *claims = json_pack("{s:s, s:I}", "sub", "user-9", "exp", (json_int_t)4102444800);
    char *token = keys_sign(claims), *pubpem, *t;
    size_t publen = 0;
    jwt_t *jwt = NULL;

    assert_non_null(token);
    pubpem = public_pem(f->pkey, &publen);
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)pubpem, (int)publen), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_ES256);
    assert_string_equal(jwt_get_grant(jwt, "sub"), "user-9");
    assert_string_equal(jwt_get_header(jwt, "kid"), f->kid);
    jwt_free(jwt);
    jwt = NULL;

    /* And libjwt rejects what we reject: a changed signature. */
    t = strdup(token);
    t[strlen(t) - 20] = t[strlen(t) - 20] == 'A' ? 'B' : 'A';
    assert_int_not_equal(jwt_decode(&jwt, t, (const unsigned char *)pubpem, (int)publen), 0);
    jwt_free(jwt);
    free(t);

    free(pubpem);
    free(token);
    json_decref(claims);
}

struct thread_arg {
    const char *token;
    int failures;
};

static void *
verify_many(void *p)
{
    struct thread_arg *a = p;
    int i;

    for (i = 0; i < 200; i++) {
        json_t *c = NULL;

        if (keys_verify(a->token, &c) != 0) {
            a->failures++;
        }
        json_decref(c);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    json_t *claims = json_pack("{s:s}", "sub", "u");
    char *token = keys_sign(claims);
    pthread_t th[4];
    struct thread_arg args[4];
    int i;

    (void)state;
    assert_non_null(token);
    for (i = 0; i < 4; i++) {
        args[i].token = token;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, verify_many, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    free(token);
    json_decref(claims);
}

static void
test_unloaded(void **state)
{
    json_t *claims = json_pack("{s:s}", "sub", "u"), *jwks;
    char *token = keys_sign(claims);

    (void)state;
    assert_non_null(token);
    keys_unload();
    keys_unload(); /* twice is harmless */
    assert_null(keys_signing_kid());
    assert_null(keys_sign(claims));
    assert_false(verifies(token));
    jwks = keys_jwks();
    assert_non_null(jwks);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 0);
    json_decref(jwks);
    free(token);
    json_decref(claims);
}

TEST_MAIN(NULL,
          NULL,
          TEST_EACH(test_generate_file),
          TEST_EACH(test_sign_verify_roundtrip),
          TEST_EACH(test_jwks_thumbprint),
          TEST_EACH(test_verified_cache),
          TEST_EACH(test_tampering),
          TEST_EACH(test_algorithms),
          TEST_EACH(test_kid),
          TEST_EACH(test_shapes),
          TEST_EACH(test_garbage),
          TEST_EACH(test_two_keys),
          TEST_EACH(test_load_errors),
          TEST_EACH(test_pem_forms),
          TEST_EACH(test_libjwt_crosscheck),
          TEST_EACH(test_threads),
          TEST_EACH(test_unloaded))
