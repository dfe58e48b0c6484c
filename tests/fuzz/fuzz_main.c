/* fuzz_main.c: the plain driver for the fuzz targets when there is no libFuzzer (a GCC build).
 *
 *   fuzz_<parser> FILE...      runs each file once (a crash to replay; or AFL++ with @@)
 *   fuzz_<parser>              replays the seed corpus (FUZZ_CORPUS, a folder of files), then
 *                              FUZZ_RUNS (default 20000) inputs mutated from it with a fixed seed
 *                              (FUZZ_SEED, printed), each through LLVMFuzzerTestOneInput
 *
 * The mutations are libFuzzer's simplest: flip, insert, delete, duplicate and overwrite bytes,
 * splice two seeds, insert a token from a small dictionary of what parsers trip on. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_rng.h"
#include "fuzz_stub.h"

#define MAX_SEEDS      256
#define FUZZ_MAX_INPUT 8192

static size_t
below(size_t n)
{
    return (size_t)fuzz_below(n);
}

struct input {
    uint8_t *p;
    size_t len;
};

static int
read_file(const char *path, struct input *in)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    in->p = malloc((size_t)n + 1);
    in->len = in->p != NULL ? fread(in->p, 1, (size_t)n, f) : 0;
    fclose(f);
    return in->p != NULL ? 0 : -1;
}

static void
run(const uint8_t *p, size_t len)
{
    /* An exact-size copy, so that AddressSanitizer sees a read past the end. */
    uint8_t *copy = malloc(len ? len : 1);

    if (copy == NULL) {
        abort();
    }
    memcpy(copy, p, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

static const char *const tokens[] = {
    "%",
    "%00",
    "%zz",
    "%ff",
    "%C3%28",
    "&",
    "=",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "null",
    "true",
    "1e999",
    "-0",
    "\xff",
    "\xc0\x80",
    "\xed\xa0\x80",
    "\x00",
    "/",
    "//",
    "..",
    "{}",
    "{*}",
    "cursor=",
    "limit=",
    "eyJ",
    "WyJ",
    "W1tb",
    "====",
    " ",
    "\t",
    "\r\n",
    "\xe2\x80\xae",
    "99999999999999999999",
    "00000000-0000-0000-0000-000000000000",
    "SW1A",
    "1AA",
    "GIR 0AA",
};

static size_t
mutate(uint8_t *buf, size_t len, const struct input *seeds, size_t nseeds)
{
    int k, rounds = 1 + (int)below(4);

    for (k = 0; k < rounds; k++) {
        size_t at = below(len + 1);
        switch (below(7)) {
        case 0: /* flip a bit */
            if (len > 0) {
                buf[below(len)] ^= (uint8_t)(1u << below(8));
            }
            break;
        case 1: /* a random byte */
            if (len > 0) {
                buf[below(len)] = (uint8_t)fuzz_rng();
            }
            break;
        case 2: { /* delete a run */
            size_t n = below(len - at + 1);
            memmove(buf + at, buf + at + n, len - at - n);
            len -= n;
            break;
        }
        case 3: { /* duplicate a run */
            size_t n = below(len - at + 1);
            if (len + n <= FUZZ_MAX_INPUT) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        }
        case 4: { /* splice another seed in */
            const struct input *o = &seeds[below(nseeds)];
            size_t from = below(o->len + 1), n = below(o->len - from + 1);
            if (len + n <= FUZZ_MAX_INPUT) {
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, o->p + from, n);
                len += n;
            }
            break;
        }
        default: { /* a dictionary token */
            const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
            size_t n = t[0] ? strlen(t) : 1;
            if (len + n <= FUZZ_MAX_INPUT) {
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, t, n);
                len += n;
            }
            break;
        }
        }
    }
    return len;
}

int
main(int argc, char **argv)
{
    const char *dir = getenv("FUZZ_CORPUS");
    const char *env_runs = getenv("FUZZ_RUNS"), *env_seed = getenv("FUZZ_SEED");
    long runs = env_runs ? strtol(env_runs, NULL, 10) : 20000, i;
    struct input seeds[MAX_SEEDS];
    size_t nseeds = 0, k;
    uint8_t *buf;
    struct dirent **files = NULL;
    int nfiles;
    int a;

    if (argc > 1) {
        for (a = 1; a < argc; a++) {
            struct input in;
            if (read_file(argv[a], &in) != 0) {
                fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[a]);
                return 2;
            }
            run(in.p, in.len);
            free(in.p);
        }
        return 0;
    }
    fuzz_rng_state = env_seed ? strtoull(env_seed, NULL, 10) : 20261202u;
    fprintf(stderr, "%s: seed %" PRIu64 " (FUZZ_SEED), %ld mutations (FUZZ_RUNS), corpus %s\n",
            argv[0], fuzz_rng_state, runs, dir ? dir : "(none)");
    if (dir != NULL && (nfiles = scandir(dir, &files, NULL, alphasort)) >= 0) {
        char path[4096];
        int f;
        for (f = 0; f < nfiles; f++) {
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", dir, files[f]->d_name);
            if (files[f]->d_name[0] != '.' && nseeds < MAX_SEEDS && stat(path, &st) == 0
                && S_ISREG(st.st_mode) && read_file(path, &seeds[nseeds]) == 0) {
                if (seeds[nseeds].len > FUZZ_MAX_INPUT) {
                    seeds[nseeds].len = FUZZ_MAX_INPUT;
                }
                nseeds++;
            }
            free(files[f]);
        }
        free(files);
    }
    if (nseeds == 0) {
        seeds[0].p = malloc(1);
        seeds[0].len = 0;
        nseeds = 1;
    }
    for (k = 0; k < nseeds; k++) {
        run(seeds[k].p, seeds[k].len);
    }
    buf = malloc(FUZZ_MAX_INPUT);
    if (buf == NULL) {
        return 2;
    }
    for (i = 0; i < runs; i++) {
        const struct input *s = &seeds[below(nseeds)];
        size_t len = s->len;
        memcpy(buf, s->p, len);
        len = mutate(buf, len, seeds, nseeds);
        run(buf, len);
    }
    fprintf(stderr, "%s: %zu seeds and %ld mutations ran clean\n", argv[0], nseeds, runs);
    free(buf);
    for (k = 0; k < nseeds; k++) {
        free(seeds[k].p);
    }
    return 0;
}
