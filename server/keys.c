/* server/keys.c: the EC P-256 signing keys, ES256 signing with libjwt, ES256 verification with
 * OpenSSL on keys parsed once, and the JWKS that publishes the public halves.
 *
 * The loaded keys live in one `struct key_set`, reached through `keys_current` under
 * `keys_lock`. Readers (sign, verify, JWKS) hold the read lock for the whole call, so a later
 * reload can build a new set and swap it in under the write lock. */
#include "registry/keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>

#include "registry/codec.h"

#define KEYS_TOKEN_MAX   8192        /* longest compact JWS we look at, in bytes */
#define KEYS_FILE_MAX    (64 * 1024) /* longest key file we read */
#define KEYS_COORD_BYTES 32          /* P-256 field element */
#define KEYS_B64_32      43          /* base64url length of 32 bytes, no padding */
#define KEYS_SIG_BYTES   64          /* raw r || s */
#define KEYS_SIG_B64     86          /* base64url length of 64 bytes */
#define KEYS_SEG_MAX     (KEYS_TOKEN_MAX / 4 * 3 + 3)

struct key {
    EVP_PKEY *pkey;
    char *name; /* file name inside the folder */
    struct timespec mtime;
    char kid[KEYS_B64_32 + 1];
    char x[KEYS_B64_32 + 1];
    char y[KEYS_B64_32 + 1];
};

struct key_set {
    struct key *keys;
    size_t count;
    size_t signer;       /* index into keys */
    char *sign_pem;      /* PKCS#8 PEM of the signing key, for libjwt */
    size_t sign_pem_len; /* without the terminating NUL */
};

static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct key_set *keys_current;
static unsigned keys_generation; /* bumped under keys_lock each time the key set changes */

/* Tokens whose signature was checked, until they expire (LIBRARIES.md 15: a request must not pay
 * an ES256 verification each time; licensees' systems reuse one token for many calls). A
 * direct-mapped table keyed by the SHA-256 of the WHOLE token, so a hit means these exact bytes
 * were verified; a changed payload or header is a different token. Entries made under an older
 * key set never match. The decoded claims are kept with the entry and shared (read-only, Jansson's
 * reference counts are atomic here) with the requests presenting the same token: decoding them
 * cost more than the rest of a status check (callgrind, bench/README.md). The claims are still
 * checked on every request (auth_check_claims: exp, nbf, iss, aud...). */
#define KEYS_CACHE_SLOTS   4096 /* a power of two */
#define KEYS_CACHE_STRIPES 64

struct verified {
    unsigned char digest[32];
    long long exp;       /* the token's exp; 0: an empty slot */
    unsigned generation; /* keys_generation when verified */
    json_t *claims;      /* the decoded payload (owned), shared by json_incref */
};

static struct verified verified_cache[KEYS_CACHE_SLOTS];
static pthread_mutex_t verified_locks[KEYS_CACHE_STRIPES];
static pthread_once_t verified_once = PTHREAD_ONCE_INIT;
static atomic_llong verified_hits, verified_misses;
static void verified_forget_all(void);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Empties `err`; then 0 when `dir` names a folder, or -1 with `err` saying it does not. */
static int
dir_given(const char *dir, char *err, size_t errlen)
{
    int given = dir != NULL && dir[0] != '\0';

    set_err(err, errlen, "%s", given ? "" : "keys: no key folder given");
    return given ? 0 : -1;
}

/* Strict unpadded base64url (codec_b64url_decode: only the URL-safe alphabet, no '=', no
 * impossible length, no stray bits) into `out` of `outcap` bytes, which also holds the NUL the
 * decoder writes. Returns 0 with the byte count in *outlen, or -1. */
static int
b64url_decode(const char *in, size_t n, unsigned char *out, size_t outcap, size_t *outlen)
{
    long got;

    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) + 1 > outcap
        || (got = codec_b64url_decode(in, n, out)) < 0) {
        return -1;
    }
    *outlen = (size_t)got;
    return 0;
}

/* Fills the base64url x and y coordinates of an EC public key, and its kid: the RFC 7638
 * thumbprint, base64url(SHA-256(the required members in lexicographic order, no spaces)).
 * Returns 0, or -1. */
static int
jwk_of(const EVP_PKEY *pkey, char *x, char *y, char *kid)
{
    BIGNUM *bx = NULL, *by = NULL;
    unsigned char buf[KEYS_COORD_BYTES], md[32];
    char canon[128];
    int rc = -1, n;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1
        || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1
        || BN_bn2binpad(bx, buf, sizeof buf) != (int)sizeof buf) {
        goto out;
    }
    codec_b64url_encode(buf, sizeof buf, x);
    if (BN_bn2binpad(by, buf, sizeof buf) != (int)sizeof buf) {
        goto out;
    }
    codec_b64url_encode(buf, sizeof buf, y);
    n = snprintf(canon, sizeof canon,
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
    if (n < 0 || (size_t)n >= sizeof canon) {
        goto out;
    }
    codec_sha256(canon, (size_t)n, md);
    codec_b64url_encode(md, sizeof md, kid);
    rc = 0;
out:
    BN_free(bx);
    BN_free(by);
    return rc;
}

/* 1 when `pkey` is an EC key on the named curve P-256. */
static int
is_p256(const EVP_PKEY *pkey)
{
    char group[64];
    size_t glen = 0;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC
        || EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1) {
        return 0;
    }
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* PEM passphrase callback: never prompt, only note that a passphrase was asked for. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* Reads a whole small regular file. Returns a malloc'd NUL-terminated buffer, or NULL with
 * a reason in *why. */
static char *
read_small_file(const char *path, size_t *len, struct timespec *mtime, const char **why)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;

    /* O_NONBLOCK: a FIFO named *.pem must not hang the start-up. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        *why = strerror(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        goto out;
    }
    if (st.st_size > KEYS_FILE_MAX) {
        *why = "larger than 64 KiB";
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        *why = "out of memory";
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            *why = r < 0 ? strerror(errno) : "file shrank while reading";
            free(buf);
            buf = NULL;
            goto out;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *len = got;
    *mtime = st.st_mtim;
out:
    close(fd);
    return buf;
}

/* Parses one key file into `k`. Returns 0, or -1 with a reason in *why. */
static int
load_key_file(const char *dir, const char *name, struct key *k, const char **why)
{
    char path[4096];
    char *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    int asked = 0, rc = -1, n;

    n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        *why = "path too long";
        return -1;
    }
    data = read_small_file(path, &len, &k->mtime, why);
    if (data == NULL) {
        return -1;
    }
    if (strstr(data, "-----BEGIN PRIVATE KEY-----") == NULL
        && strstr(data, "-----BEGIN EC PRIVATE KEY-----") == NULL) {
        *why = strstr(data, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL
                   ? "passphrase-protected keys are not supported"
                   : "no PEM \"PRIVATE KEY\" or \"EC PRIVATE KEY\" block";
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL) {
        *why = "out of memory";
        goto out;
    }
    k->pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, &asked, NULL, NULL);
    if (k->pkey == NULL) {
        *why = asked ? "passphrase-protected keys are not supported"
                     : "not a readable PEM private key";
        goto out;
    }
    if (!is_p256(k->pkey)) {
        *why = "not an EC P-256 key";
        goto out;
    }
    if (jwk_of(k->pkey, k->x, k->y, k->kid) != 0) {
        *why = "cannot read the public key";
        goto out;
    }
    k->name = strdup(name);
    if (k->name == NULL) {
        *why = "out of memory";
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
    BIO_free(bio);
    if (data != NULL) {
        OPENSSL_cleanse(data, len);
        free(data);
    }
    ERR_clear_error();
    return rc;
}

static void
key_set_free(struct key_set *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    for (i = 0; i < set->count; i++) {
        EVP_PKEY_free(set->keys[i].pkey);
        free(set->keys[i].name);
    }
    free(set->keys);
    if (set->sign_pem != NULL) {
        OPENSSL_cleanse(set->sign_pem, set->sign_pem_len);
        free(set->sign_pem);
    }
    free(set);
}

/* 1 when `a` should sign rather than `b`: newer modification time, then greater name. */
static int
key_newer(const struct key *a, const struct key *b)
{
    if (a->mtime.tv_sec != b->mtime.tv_sec) {
        return a->mtime.tv_sec > b->mtime.tv_sec;
    }
    if (a->mtime.tv_nsec != b->mtime.tv_nsec) {
        return a->mtime.tv_nsec > b->mtime.tv_nsec;
    }
    return strcmp(a->name, b->name) > 0;
}

static int
is_pem_entry(const struct dirent *de)
{
    size_t n = strlen(de->d_name);

    return de->d_name[0] != '.' && n > 4 && strcmp(de->d_name + n - 4, ".pem") == 0;
}

/* By byte value, whatever the locale (alphasort would follow LC_COLLATE). */
static int
compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Writes the PKCS#8 PEM of `pkey` into a malloc'd NUL-terminated buffer. Returns it, or NULL. */
static char *
private_pem(EVP_PKEY *pkey, size_t *len)
{
    BIO *bio;
    char *mem = NULL, *copy = NULL;
    long n;

    if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
        return NULL;
    }
    if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1
        || (n = BIO_get_mem_data(bio, &mem)) <= 0 || (copy = malloc((size_t)n + 1)) == NULL) {
        goto out;
    }
    memcpy(copy, mem, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
out:
    BIO_free(bio);
    ERR_clear_error();
    return copy;
}

/* Makes `set` (NULL: none) the key set in use, and returns the one it replaces (the caller's to
 * free). */
static struct key_set *
install(struct key_set *set)
{
    struct key_set *old;

    pthread_rwlock_wrlock(&keys_lock);
    old = keys_current;
    keys_current = set;
    keys_generation++;
    pthread_rwlock_unlock(&keys_lock);
    return old;
}

int
keys_load(const char *dir, char *err, size_t errlen)
{
    struct key_set *set = NULL;
    struct dirent **names = NULL;
    size_t count = 0, i, j;
    int rc = -1, n;

    if (dir_given(dir, err, errlen) != 0) {
        return -1;
    }
    if ((n = scandir(dir, &names, is_pem_entry, compare_names)) < 0) {
        set_err(err, errlen, "keys: %s: %s", dir, strerror(errno));
        return -1;
    }
    count = (size_t)n;
    if (count == 0) {
        set_err(err, errlen, "keys: %s: no *.pem key files", dir);
        goto out;
    }
    set = calloc(1, sizeof *set);
    if (set == NULL || (set->keys = calloc(count, sizeof *set->keys)) == NULL) {
        set_err(err, errlen, "keys: out of memory");
        goto out;
    }
    for (i = 0; i < count; i++) {
        const char *why = "unknown error";
        struct key *k = &set->keys[set->count];

        if (load_key_file(dir, names[i]->d_name, k, &why) != 0) {
            set_err(err, errlen, "keys: %s/%s: %s", dir, names[i]->d_name, why);
            goto out;
        }
        set->count++;
        for (j = 0; j + 1 < set->count; j++) {
            if (strcmp(set->keys[j].kid, k->kid) == 0) {
                set_err(err, errlen, "keys: %s/%s: same key as %s", dir, names[i]->d_name,
                        set->keys[j].name);
                goto out;
            }
        }
        if (set->count > 1 && key_newer(k, &set->keys[set->signer])) {
            set->signer = set->count - 1;
        }
    }
    set->sign_pem = private_pem(set->keys[set->signer].pkey, &set->sign_pem_len);
    if (set->sign_pem == NULL) {
        set_err(err, errlen, "keys: %s/%s: cannot encode the signing key", dir,
                set->keys[set->signer].name);
        goto out;
    }
    set = install(set); /* the old set, freed below */
    rc = 0;
out:
    key_set_free(set);
    for (i = 0; i < count; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

void
keys_unload(void)
{
    key_set_free(install(NULL));
    verified_forget_all();
}

/* Writes all of `buf` to `fd`. Returns 0, or -1 with errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            if (w == 0) {
                errno = EIO;
            }
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int
keys_generate(const char *dir, char *path, size_t pathlen, char *err, size_t errlen)
{
    EVP_PKEY *pkey = NULL;
    char x[KEYS_B64_32 + 1], y[KEYS_B64_32 + 1], kid[KEYS_B64_32 + 1];
    char stamp[32], file[4096];
    char *pem = NULL;
    size_t pem_len = 0;
    struct stat st;
    struct tm tm;
    time_t now;
    int fd, dfd, rc = -1, n, written;

    if (dir_given(dir, err, errlen) != 0) {
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "keys: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "keys: %s is not a folder", dir);
        return -1;
    }
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (pkey == NULL) {
        set_err(err, errlen, "keys: P-256 key generation failed");
        goto out;
    }
    if (jwk_of(pkey, x, y, kid) != 0) {
        set_err(err, errlen, "keys: cannot compute the key id");
        goto out;
    }
    pem = private_pem(pkey, &pem_len);
    if (pem == NULL) {
        set_err(err, errlen, "keys: cannot encode the key");
        goto out;
    }
    now = time(NULL);
    if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0) {
        set_err(err, errlen, "keys: cannot format the time");
        goto out;
    }
    n = snprintf(file, sizeof file, "%s/%s-%.8s.pem", dir, stamp, kid);
    if (n < 0 || (size_t)n >= sizeof file) {
        set_err(err, errlen, "keys: key folder path too long");
        goto out;
    }
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        set_err(err, errlen, "keys: cannot create %s: %s", file, strerror(errno));
        goto out;
    }
    written = fchmod(fd, 0600) == 0 && write_all(fd, pem, pem_len) == 0 && fsync(fd) == 0;
    if (close(fd) != 0 || !written) { /* errno: the first call that failed */
        set_err(err, errlen, "keys: cannot write %s: %s", file, strerror(errno));
        unlink(file);
        goto out;
    }
    /* Make the new directory entry durable too; failure here does not lose the key. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (path != NULL && pathlen > 0) {
        if ((size_t)n >= pathlen) {
            set_err(err, errlen, "keys: %s: path buffer too small", file);
            goto out;
        }
        memcpy(path, file, (size_t)n + 1);
    }
    rc = 0;
out:
    if (pem != NULL) {
        OPENSSL_cleanse(pem, pem_len);
        free(pem);
    }
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}

json_t *
keys_jwks(void)
{
    json_t *doc = NULL, *arr;
    size_t i;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }
    pthread_rwlock_rdlock(&keys_lock);
    for (i = 0; keys_current != NULL && i < keys_current->count; i++) {
        const struct key *k = &keys_current->keys[i];
        json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
                                "x", k->x, "y", k->y, "kid", k->kid, "use", "sig", "alg", "ES256");

        if (json_array_append_new(arr, jwk) != 0) {
            pthread_rwlock_unlock(&keys_lock);
            json_decref(arr);
            return NULL;
        }
    }
    pthread_rwlock_unlock(&keys_lock);
    doc = json_object();
    if (json_object_set_new(doc, "keys", arr) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* The pointer stays valid until the next keys_load or keys_unload. */
const char *
keys_signing_kid(void)
{
    const char *kid = NULL;

    pthread_rwlock_rdlock(&keys_lock);
    if (keys_current != NULL) {
        kid = keys_current->keys[keys_current->signer].kid;
    }
    pthread_rwlock_unlock(&keys_lock);
    return kid;
}

char *
keys_sign(json_t *claims)
{
    jwt_t *jwt = NULL;
    char *grants = NULL, *token = NULL;
    const struct key_set *set;

    if (!json_is_object(claims)) {
        return NULL;
    }
    grants = json_dumps(claims, JSON_COMPACT);
    if (grants == NULL) {
        return NULL;
    }
    pthread_rwlock_rdlock(&keys_lock);
    set = keys_current;
    if (set == NULL || set->sign_pem_len > (size_t)KEYS_FILE_MAX) {
        goto out;
    }
    if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, grants) != 0
        || jwt_add_header(jwt, "kid", set->keys[set->signer].kid) != 0
        || jwt_set_alg(jwt, JWT_ALG_ES256, (const unsigned char *)set->sign_pem,
                       (int)set->sign_pem_len)
               != 0) {
        goto out;
    }
    /* libjwt allocates the result with malloc, so the caller frees it with free(). */
    token = jwt_encode_str(jwt);
out:
    pthread_rwlock_unlock(&keys_lock);
    jwt_free(jwt); /* also scrubs its copy of the key */
    free(grants);
    ERR_clear_error();
    return token;
}

/* Decodes a base64url segment and parses it as a JSON object. Returns a new reference, or
 * NULL. */
static json_t *
decode_json_object(const char *seg, size_t len)
{
    unsigned char buf[KEYS_SEG_MAX + 1]; /* and the decoder's NUL */
    size_t n = 0;
    json_t *obj;

    if (len == 0 || b64url_decode(seg, len, buf, sizeof buf, &n) != 0) {
        return NULL;
    }
    obj = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Checks a raw r || s ES256 signature over msg with `pkey`. Returns 1 when valid. */
static int
es256_verify(EVP_PKEY *pkey, const unsigned char *sig, const char *msg, size_t msglen)
{
    ECDSA_SIG *esig = NULL;
    BIGNUM *r = NULL, *s = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    int derlen, ok = 0;

    r = BN_bin2bn(sig, KEYS_SIG_BYTES / 2, NULL);
    s = BN_bin2bn(sig + KEYS_SIG_BYTES / 2, KEYS_SIG_BYTES / 2, NULL);
    esig = ECDSA_SIG_new();
    if (r == NULL || s == NULL || esig == NULL || ECDSA_SIG_set0(esig, r, s) != 1) {
        goto out;
    }
    r = s = NULL; /* owned by esig now */
    if ((derlen = i2d_ECDSA_SIG(esig, &der)) <= 0 || (md = EVP_MD_CTX_new()) == NULL
        || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) {
        goto out;
    }
    ok = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)msg, msglen) == 1;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(esig);
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return ok;
}

static void
verified_init(void)
{
    int i;

    for (i = 0; i < KEYS_CACHE_STRIPES; i++) {
        pthread_mutex_init(&verified_locks[i], NULL);
    }
}

static size_t
verified_slot(const unsigned char digest[32])
{
    return ((size_t)digest[0] | (size_t)digest[1] << 8 | (size_t)digest[2] << 16)
           & (KEYS_CACHE_SLOTS - 1);
}

/* The claims of these token bytes when they were verified under the current key set and have
 * not expired (a new reference, read-only), else NULL. Called with keys_lock held for reading. */
static json_t *
verified_claims(const unsigned char digest[32], long long now)
{
    size_t slot = verified_slot(digest);
    pthread_mutex_t *lock = &verified_locks[slot % KEYS_CACHE_STRIPES];
    const struct verified *v = &verified_cache[slot];
    json_t *claims = NULL;

    pthread_once(&verified_once, verified_init);
    pthread_mutex_lock(lock);
    if (v->exp > now && v->generation == keys_generation
        && memcmp(v->digest, digest, sizeof(v->digest)) == 0) {
        claims = json_incref(v->claims);
    }
    pthread_mutex_unlock(lock);
    atomic_fetch_add(claims != NULL ? &verified_hits : &verified_misses, 1);
    return claims;
}

/* Remembers a verified token and its claims until `exp` (a token without an integer exp is not
 * remembered). Called with keys_lock held for reading. */
static void
verified_remember(const unsigned char digest[32], json_t *payload)
{
    json_t *exp = json_object_get(payload, "exp"), *old;
    size_t slot = verified_slot(digest);
    pthread_mutex_t *lock = &verified_locks[slot % KEYS_CACHE_STRIPES];
    struct verified *v = &verified_cache[slot];

    if (!json_is_integer(exp) || json_integer_value(exp) <= 0) {
        return;
    }
    pthread_mutex_lock(lock);
    memcpy(v->digest, digest, sizeof(v->digest));
    v->exp = (long long)json_integer_value(exp);
    v->generation = keys_generation;
    old = v->claims;
    v->claims = json_incref(payload);
    pthread_mutex_unlock(lock);
    json_decref(old);
}

/* Empties the table (the key set is gone). */
static void
verified_forget_all(void)
{
    size_t slot;

    pthread_once(&verified_once, verified_init);
    for (slot = 0; slot < KEYS_CACHE_SLOTS; slot++) {
        pthread_mutex_t *lock = &verified_locks[slot % KEYS_CACHE_STRIPES];
        json_t *old;

        pthread_mutex_lock(lock);
        old = verified_cache[slot].claims;
        memset(&verified_cache[slot], 0, sizeof(verified_cache[slot]));
        pthread_mutex_unlock(lock);
        json_decref(old);
    }
}

void
keys_cache_stats(long long *hits, long long *misses)
{
    *hits = atomic_load(&verified_hits);
    *misses = atomic_load(&verified_misses);
}

int
keys_verify(const char *token, json_t **claims)
{
    json_t *header = NULL, *payload = NULL, *alg, *kid;
    const char *dot1, *dot2, *sig_seg;
    unsigned char sig[KEYS_SIG_BYTES + 1]; /* and the decoder's NUL */
    size_t len, sig_len = 0, i;
    const struct key *key = NULL;
    unsigned char digest[32];
    int rc = -1, locked = 0;

    if (claims == NULL) {
        return -1;
    }
    *claims = NULL;
    if (token == NULL) {
        return -1;
    }
    /* header.payload.signature; a third '.' would be outside the signature's alphabet. */
    len = strnlen(token, KEYS_TOKEN_MAX + 1);
    if (len > KEYS_TOKEN_MAX || (dot1 = memchr(token, '.', len)) == NULL
        || (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) == NULL) {
        return -1;
    }
    sig_seg = dot2 + 1;
    if (len - (size_t)(sig_seg - token) != KEYS_SIG_B64
        || b64url_decode(sig_seg, KEYS_SIG_B64, sig, sizeof sig, &sig_len) != 0
        || sig_len != KEYS_SIG_BYTES) {
        return -1;
    }
    codec_sha256(token, len, digest);
    pthread_rwlock_rdlock(&keys_lock);
    locked = 1;
    if ((*claims = verified_claims(digest, (long long)time(NULL))) != NULL) {
        rc = 0; /* these very bytes were verified: header, key and signature included */
        goto out;
    }
    header = decode_json_object(token, (size_t)(dot1 - token));
    alg = json_object_get(header, "alg"); /* NULL without a header */
    kid = json_object_get(header, "kid");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "ES256") != 0 || !json_is_string(kid)
        || json_object_get(header, "crit") != NULL) {
        goto out;
    }
    for (i = 0; keys_current != NULL && i < keys_current->count; i++) {
        if (strcmp(keys_current->keys[i].kid, json_string_value(kid)) == 0) {
            key = &keys_current->keys[i];
            break;
        }
    }
    if (key == NULL || !es256_verify(key->pkey, sig, token, (size_t)(dot2 - token))
        || (payload = decode_json_object(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
        goto out;
    }
    verified_remember(digest, payload);
    *claims = payload;
    payload = NULL;
    rc = 0;
out:
    if (locked) {
        pthread_rwlock_unlock(&keys_lock);
    }
    json_decref(header);
    json_decref(payload);
    return rc;
}
