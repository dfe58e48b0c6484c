/* stmt_cpu: the database's CPU time per execution of prepared statements, as the server runs
 * them (PQexecPrepared on one connection, generic plans after the first executions), read from
 * the backend's /proc/PID/schedstat (nanoseconds on a CPU) around each loop. CPU time, not wall
 * time, so the load of other work on the machine matters less; single figures still swing, so
 * compare variants of one run, interleaved round by round, and take the lowest of each.
 *
 *   cc -O2 -I/usr/include/postgresql bench/stmt_cpu.c -o stmt_cpu -lpq
 *   stmt_cpu CONNINFO VARIANTS.tsv PARAMS.tsv N ROUNDS
 *
 * VARIANTS.tsv: one statement a line, "name TAB columns TAB sql", where columns lists the
 * columns of PARAMS.tsv passed as $1, $2, ... ("0,3,4"; "-" passes NULL; empty for none).
 * PARAMS.tsv: one parameter row a line, tab-separated (\N is NULL); execution i uses row i
 * modulo the rows. Each round runs every variant N times (a first round of 10 each warms up and
 * is not counted) and prints backend and wall microseconds per execution and the bytes of the
 * answers; BEST lines give each variant's lowest. Run it on the database of
 * `bench/run --setup-only`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define MAX_VARIANTS 64
#define MAX_ROWS     10000
#define MAX_PARAMS   8

struct variant {
    char *name, *sql;
    int cols[MAX_PARAMS], ncols;
    double best_cpu, best_wall;
    long bytes;
};

static struct variant variants[MAX_VARIANTS];
static int nvariants;
static char *rows[MAX_ROWS][MAX_PARAMS];
static int nrows;

/* Nanoseconds the process `pid` has spent on a CPU, or -1. */
static long long
cpu_ns(int pid)
{
    char path[64];
    long long ns = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    if ((f = fopen(path, "r")) == NULL) {
        return -1;
    }
    if (fscanf(f, "%lld", &ns) != 1) {
        ns = -1;
    }
    fclose(f);
    return ns;
}

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads the variants file. Returns 0, or -1. */
static int
read_variants(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *cols, *sql, *tok;
    size_t cap = 0;
    ssize_t len;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0 && nvariants < MAX_VARIANTS) {
        struct variant *v = &variants[nvariants];

        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (line[0] == '\0' || line[0] == '#' || (cols = strchr(line, '\t')) == NULL) {
            continue;
        }
        *cols++ = '\0';
        if ((sql = strchr(cols, '\t')) == NULL) {
            continue;
        }
        *sql++ = '\0';
        v->name = strdup(line);
        v->sql = strdup(sql);
        for (tok = strtok(cols, ","); tok != NULL && v->ncols < MAX_PARAMS;
             tok = strtok(NULL, ",")) {
            v->cols[v->ncols++] = tok[0] == '-' ? -1 : atoi(tok);
        }
        v->best_cpu = v->best_wall = 1e18;
        nvariants++;
    }
    free(line);
    fclose(f);
    return 0;
}

/* Reads the parameter rows. Returns 0, or -1. */
static int
read_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0 && nrows < MAX_ROWS) {
        char *s = line, *tab;
        int k;

        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        for (k = 0; k < MAX_PARAMS; k++) {
            if ((tab = strchr(s, '\t')) != NULL) {
                *tab = '\0';
            }
            rows[nrows][k] = strcmp(s, "\\N") == 0 ? NULL : strdup(s);
            if (tab == NULL) {
                break;
            }
            s = tab + 1;
        }
        nrows++;
    }
    free(line);
    fclose(f);
    return nrows > 0 ? 0 : -1;
}

/* Runs variant `i` (prepared as "v<i>") `n` times. Returns 0, or -1. */
static int
run_variant(PGconn *c, int pid, int i, int n, int counted, int round)
{
    struct variant *v = &variants[i];
    char name[16];
    long long c0 = cpu_ns(pid);
    double w0 = now_s(), cpu, wall;
    long bytes = 0;
    int e, k, t, q;

    snprintf(name, sizeof(name), "v%d", i);
    for (e = 0; e < n; e++) {
        const char *p[MAX_PARAMS];
        char **row = rows[e % nrows];
        PGresult *r;

        for (k = 0; k < v->ncols; k++) {
            p[k] = v->cols[k] < 0 ? NULL : row[v->cols[k]];
        }
        r = PQexecPrepared(c, name, v->ncols, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "%s: %s", v->name, PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        for (t = 0; t < PQntuples(r); t++) {
            for (q = 0; q < PQnfields(r); q++) {
                bytes += PQgetlength(r, t, q);
            }
        }
        PQclear(r);
    }
    cpu = (double)(cpu_ns(pid) - c0) / 1e3 / n;
    wall = (now_s() - w0) * 1e6 / n;
    if (counted) {
        v->best_cpu = cpu < v->best_cpu ? cpu : v->best_cpu;
        v->best_wall = wall < v->best_wall ? wall : v->best_wall;
        v->bytes = bytes / n;
        printf("round %d %-28s backend %7.1f us  wall %7.1f us  %ld B\n", round, v->name, cpu, wall,
               bytes / n);
        fflush(stdout);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    PGconn *c;
    PGresult *r;
    int pid, i, round, n, rounds;

    if (argc < 6) {
        fprintf(stderr, "usage: stmt_cpu CONNINFO VARIANTS.tsv PARAMS.tsv N ROUNDS\n");
        return 2;
    }
    if (read_variants(argv[2]) != 0 || read_rows(argv[3]) != 0) {
        return 2;
    }
    n = atoi(argv[4]);
    rounds = atoi(argv[5]);
    c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    r = PQexec(c, "SELECT pg_backend_pid()");
    pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    for (i = 0; i < nvariants; i++) {
        char name[16];

        snprintf(name, sizeof(name), "v%d", i);
        r = PQprepare(c, name, variants[i].sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "%s: %s", variants[i].name, PQresultErrorMessage(r));
            return 1;
        }
        PQclear(r);
    }
    for (round = 0; round <= rounds; round++) {
        for (i = 0; i < nvariants; i++) {
            if (run_variant(c, pid, i, round == 0 ? 10 : n, round > 0, round) != 0) {
                return 1;
            }
        }
    }
    for (i = 0; i < nvariants; i++) {
        printf("BEST %-28s backend %7.1f us  wall %7.1f us  %ld B\n", variants[i].name,
               variants[i].best_cpu, variants[i].best_wall, variants[i].bytes);
    }
    PQfinish(c);
    return 0;
}
