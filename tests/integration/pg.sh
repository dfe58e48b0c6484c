#!/usr/bin/env bash
# pg.sh: a private PostgreSQL cluster for development (deploy/dev.sh) and tests (ctest).
#
# It never touches the machine's own cluster: the private one listens on a Unix socket in a
# directory of its own (listen_addresses = ''), and its data lives under DIR (or under /tmp,
# see below). Run `pg.sh help` for the commands.
#
# Layout of DIR:
#   DIR/data/             the cluster (PGDATA)
#   DIR/sock/             its Unix socket directory
#   DIR/postgresql.log    the server log
#   DIR/conninfo          libpq keyword conninfo without dbname, written by `start`
#   DIR/cluster           present only when the cluster lives elsewhere: a symlink to
#                         /tmp/mpact-pg.XXXXXX, which then holds data/, sock/ and the log
#   DIR/sockdir           present only when DIR/sock would make a socket path too long: the
#                         short /tmp directory used instead
#
# As root, initdb and the server run as the `postgres` user (initdb refuses root). When that
# user cannot reach DIR (a clone under /root is mode 700), the cluster goes to /tmp instead.
set -euo pipefail

PROG=pg.sh
PORT="${PG_SH_PORT:-5432}"

usage()
{
    cat <<'EOF'
usage: pg.sh start [--no-fsync] [--fresh] DIR [DBNAME...]
           Create the cluster if DIR has none (initdb), start it if it is not running, then
           create each database that is missing (default: registry) with the cube and
           earthdistance extensions. Prints the conninfo (no dbname) and writes DIR/conninfo.
           --no-fsync  fsync=off, synchronous_commit=off, full_page_writes=off (tests only:
                       a crash can corrupt the cluster). Also PG_SH_NO_FSYNC=1.
           --fresh     drop and re-create the named databases.
       pg.sh stop DIR        Stop the cluster (fast shutdown); no error when it is not running.
       pg.sh restart DIR     Stop, then start again with the same settings.
       pg.sh destroy DIR     Stop and delete the cluster (and its /tmp directories).
       pg.sh conninfo DIR    Print the conninfo of a started cluster.
       pg.sh status DIR      Exit 0 when running, 3 when not.
       pg.sh signal DIR STOP|CONT|KILL
                             Send the signal to the postmaster and every process it started, for
                             fault tests: STOP freezes the cluster (the postmaster first, so it
                             starts nothing new), CONT thaws it (no error when nothing runs), KILL
                             is a crash (all at once; start runs crash recovery).
       pg.sh with DIR DBNAME COMMAND [ARG...]
                             Run COMMAND with REGISTRY_DATABASE_URL set to that database.
       pg.sh psql DIR [DBNAME [PSQL-ARG...]]
                             Open psql on a database (default: registry).
       pg.sh replica PRIMARY-DIR DIR
                             Make DIR a streaming replica of the running cluster in PRIMARY-DIR
                             (pg_basebackup -R) with a socket directory of its own, and start
                             it. stop, restart, destroy, conninfo and status then work on DIR.
Environment: PG_BIN (PostgreSQL binaries), PG_SH_PORT (default 5432; only names the socket
file in the private directory), PG_SH_NO_FSYNC=1.
EOF
}

die()
{
    echo "$PROG: $*" >&2
    exit 1
}

note()
{
    echo "$PROG: $*" >&2
}

is_root()
{
    [[ "$(id -u)" -eq 0 ]]
}

find_pg_bin()
{
    if [[ -n "${PG_BIN:-}" ]]; then
        [[ -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN has no initdb"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        PG_BIN=/usr/lib/postgresql/15/bin
        return
    fi
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && best="$d"
    done
    if [[ -z "$best" ]] && command -v pg_config >/dev/null 2>&1; then
        best="$(pg_config --bindir)"
        [[ -x "$best/initdb" ]] || best=""
    fi
    [[ -n "$best" ]] || die "no PostgreSQL server binaries found (install postgresql-15)"
    PG_BIN="$best"
}

# Runs a command as the user who owns the cluster: postgres when we are root, ourselves otherwise.
# Every path handed to it is absolute; the postgres user may not be able to enter our cwd.
as_pg()
{
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Gives a path we created as root to the postgres user.
give_to_pg()
{
    if is_root; then
        chown postgres:postgres "$@"
    fi
}

# Sets DIR to the absolute form of $1, creating it when asked.
set_dir()
{
    local d="$1" create="$2"
    [[ -n "$d" ]] || die "DIR is empty"
    if [[ "$create" == yes ]]; then
        mkdir -p -- "$d"
    fi
    [[ -d "$d" ]] || die "$d: no such directory"
    DIR="$(cd -- "$d" && pwd -P)"
}

# Sets BASE (where data/, sock/ and the log live) for an existing cluster, or returns 1.
find_base()
{
    if [[ -L "$DIR/cluster" ]]; then
        local target
        target="$(readlink -- "$DIR/cluster")"
        if [[ -d "$target/data" ]]; then
            BASE="$target"
            return 0
        fi
        note "$DIR/cluster points to $target, which is gone; forgetting it"
        rm -f -- "$DIR/cluster"
    fi
    if [[ -f "$DIR/data/PG_VERSION" ]]; then
        BASE="$DIR"
        return 0
    fi
    return 1
}

# Chooses BASE for a new cluster.
choose_base()
{
    if is_root && ! runuser -u postgres -- test -x "$DIR"; then
        BASE="$(mktemp -d /tmp/mpact-pg.XXXXXX)"
        chmod 700 "$BASE"
        give_to_pg "$BASE"
        ln -sfn -- "$BASE" "$DIR/cluster"
        note "the postgres user cannot reach $DIR; the cluster lives in $BASE (linked from $DIR/cluster)"
    else
        BASE="$DIR"
    fi
}

# Sets SOCK: BASE/sock, or a short /tmp directory when the socket path would pass 107 bytes.
choose_sock()
{
    local LC_ALL=C
    SOCK="$BASE/sock"
    local path="$SOCK/.s.PGSQL.$PORT"
    if ((${#path} > 107)); then
        if [[ -f "$DIR/sockdir" ]] && SOCK="$(cat -- "$DIR/sockdir")" && [[ -d "$SOCK" ]]; then
            :
        else
            SOCK="$(mktemp -d /tmp/mpact-pgs.XXXXXX)"
            printf '%s\n' "$SOCK" >"$DIR/sockdir"
            note "socket path under $BASE is too long; using $SOCK"
        fi
    fi
    mkdir -p -- "$SOCK"
    chmod 700 "$SOCK"
    give_to_pg "$SOCK"
}

# Quotes a value for a libpq keyword conninfo.
conn_quote()
{
    local v="$1"
    if [[ "$v" =~ ^[A-Za-z0-9_./:-]+$ ]]; then
        printf '%s' "$v"
    else
        v="${v//\\/\\\\}"
        v="${v//\'/\\\'}"
        printf "'%s'" "$v"
    fi
}

# Quotes a value for postgresql.conf.
conf_quote()
{
    local v="$1"
    printf "'%s'" "${v//\'/\'\'}"
}

# Serialises start and restart on one DIR (two callers must not both run initdb).
lock_dir()
{
    exec 9>"$DIR/.lock"
    flock 9
}

is_running()
{
    as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" status >/dev/null 2>&1
}

log_tail()
{
    if [[ -f "$BASE/postgresql.log" ]]; then
        echo "---- last lines of $BASE/postgresql.log ----" >&2
        tail -n 30 -- "$BASE/postgresql.log" >&2 || true
    fi
}

initdb_cluster()
{
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C.UTF-8
    fi
    mkdir -p -- "$BASE/data"
    chmod 700 "$BASE/data"
    give_to_pg "$BASE/data"
    note "initdb in $BASE/data"
    if ! as_pg "$PG_BIN/initdb" -D "$BASE/data" -A trust -U postgres -E UTF8 --locale="$locale" \
        --no-sync --no-instructions >"$BASE/initdb.log" 2>&1; then
        cat -- "$BASE/initdb.log" >&2
        die "initdb failed"
    fi
    printf "\n# Settings written by pg.sh on every start.\ninclude_if_exists = 'mpact.conf'\n" \
        >>"$BASE/data/postgresql.conf"
}

write_settings()
{
    local nofsync="$1" f="$BASE/data/mpact.conf"
    {
        echo "# Written by tests/integration/pg.sh; rewritten on every start."
        echo "listen_addresses = ''"
        echo "unix_socket_directories = $(conf_quote "$SOCK")"
        echo "port = $PORT"
        echo "max_connections = 200"
        if [[ "$nofsync" == yes ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        else
            echo "fsync = on"
        fi
    } >"$f"
    give_to_pg "$f"
}

start_server()
{
    if is_running; then
        return
    fi
    if [[ ! -e "$BASE/postgresql.log" ]]; then
        : >"$BASE/postgresql.log"
        give_to_pg "$BASE/postgresql.log"
    fi
    if ! as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" -l "$BASE/postgresql.log" -w -t 60 start >&2 9>&-; then
        log_tail
        die "could not start PostgreSQL in $BASE/data"
    fi
}

psql_db()
{
    local db="$1"
    shift
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d "$db" "$@"
}

ensure_database()
{
    local db="$1" fresh="$2" exists
    [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$db: database names here are letters, digits and _"
    if [[ "$fresh" == yes ]]; then
        psql_db postgres -v n="$db" <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"n" WITH (FORCE);
SQL
    fi
    exists="$(psql_db postgres -At -v n="$db" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'n';
SQL
)"
    if [[ "$exists" != 1 ]]; then
        psql_db postgres -v n="$db" <<'SQL'
CREATE DATABASE :"n" TEMPLATE template1 ENCODING 'UTF8';
SQL
        note "created database $db"
    fi
    # cube and earthdistance need superuser rights (unaccent needs CREATE on the database), so the
    # bootstrap creates them, not a migration.
    psql_db "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE EXTENSION IF NOT EXISTS unaccent;
SQL
}

write_conninfo()
{
    CONNINFO="host=$(conn_quote "$SOCK") port=$PORT user=postgres"
    printf '%s\n' "$CONNINFO" >"$DIR/conninfo.tmp"
    mv -f -- "$DIR/conninfo.tmp" "$DIR/conninfo"
}

# Waits until the server accepts connections on the socket (pg_ctl -w already does; this
# also covers a cluster another pg.sh call is starting right now).
wait_ready()
{
    local i
    for ((i = 0; i < 100; i++)); do
        if "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$PORT" -U postgres -d postgres; then
            return
        fi
        sleep 0.1
    done
    log_tail
    die "PostgreSQL in $BASE/data does not accept connections on $SOCK"
}

cmd_start()
{
    local nofsync=no fresh=no
    if [[ "${PG_SH_NO_FSYNC:-0}" == 1 ]]; then
        nofsync=yes
    fi
    while [[ $# -gt 0 && "$1" == --* ]]; do
        case "$1" in
        --no-fsync) nofsync=yes ;;
        --fresh) fresh=yes ;;
        *) die "unknown option $1" ;;
        esac
        shift
    done
    [[ $# -ge 1 ]] || die "start needs DIR"
    set_dir "$1" yes
    shift
    lock_dir
    local dbs=("$@")
    if [[ ${#dbs[@]} -eq 0 ]]; then
        dbs=(registry)
    fi
    if is_root && ! id -u postgres >/dev/null 2>&1; then
        die "running as root needs the postgres user (install postgresql-15)"
    fi
    if ! find_base; then
        choose_base
        initdb_cluster
    fi
    local ver
    ver="$(cat -- "$BASE/data/PG_VERSION")"
    [[ "$PG_BIN" == *"/$ver/bin" ]] || note "cluster is version $ver, binaries are $PG_BIN"
    choose_sock
    if ! is_running; then
        write_settings "$nofsync"
    fi
    start_server
    wait_ready
    local db
    for db in "${dbs[@]}"; do
        ensure_database "$db" "$fresh"
    done
    write_conninfo
    printf '%s\n' "$CONNINFO"
}

cmd_stop()
{
    [[ $# -eq 1 ]] || die "stop needs DIR"
    if [[ ! -d "$1" ]]; then
        note "$1: no cluster"
        return 0
    fi
    set_dir "$1" no
    if ! find_base; then
        note "$DIR: no cluster"
        return 0
    fi
    if is_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" -m fast -w -t 60 stop >&2
    else
        note "$DIR: not running"
    fi
}

cmd_signal()
{
    [[ $# -eq 2 ]] || die "signal needs DIR STOP|CONT|KILL"
    local sig="$2" pm kids
    case "$sig" in
    STOP | CONT | KILL) ;;
    *) die "signal: STOP, CONT or KILL, not $sig" ;;
    esac
    set_dir "$1" no
    if ! find_base || [[ ! -f "$BASE/data/postmaster.pid" ]]; then
        [[ "$sig" == CONT ]] && return 0
        die "$DIR: no running cluster"
    fi
    pm="$(head -n 1 -- "$BASE/data/postmaster.pid")"
    [[ "$pm" =~ ^[0-9]+$ ]] || die "$BASE/data/postmaster.pid names no process"
    if ! kill -0 "$pm" 2>/dev/null; then
        [[ "$sig" == CONT ]] && return 0
        die "$DIR: postmaster $pm is not running"
    fi
    case "$sig" in
    STOP)
        kill -STOP "$pm"
        kids="$(pgrep -P "$pm" || true)"
        [[ -z "$kids" ]] || kill -STOP $kids 2>/dev/null || true
        ;;
    CONT)
        kids="$(pgrep -P "$pm" || true)"
        [[ -z "$kids" ]] || kill -CONT $kids 2>/dev/null || true
        kill -CONT "$pm"
        ;;
    KILL)
        kids="$(pgrep -P "$pm" || true)"
        kill -KILL "$pm" $kids 2>/dev/null || true
        local i p
        for ((i = 0; i < 100; i++)); do # gone before a start looks at the shared memory
            for p in "$pm" $kids; do
                kill -0 "$p" 2>/dev/null && break
                p=""
            done
            [[ -z "$p" ]] && break
            sleep 0.05
        done
        ;;
    esac
}

cmd_restart()
{
    [[ $# -eq 1 ]] || die "restart needs DIR"
    set_dir "$1" no
    lock_dir
    find_base || die "$DIR: no cluster (use start)"
    if is_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" -m fast -w -t 60 stop >&2
    fi
    local nofsync=no
    if grep -q '^fsync = off' "$BASE/data/mpact.conf" 2>/dev/null; then
        nofsync=yes
    fi
    choose_sock
    write_settings "$nofsync"
    start_server
    wait_ready
    write_conninfo
    printf '%s\n' "$CONNINFO"
}

# Removes `target` (a directory pg.sh made under /tmp, checked against the prefix `prefix`) and
# then the file `pointer` that named it: remove_tmp_pointer POINTER TARGET PREFIX.
remove_tmp_pointer()
{
    if [[ "$2" == "$3"* ]]; then
        rm -rf -- "$2"
    fi
    rm -f -- "$1"
}

cmd_destroy()
{
    [[ $# -eq 1 ]] || die "destroy needs DIR"
    [[ -d "$1" ]] || return 0
    cmd_stop "$1"
    set_dir "$1" no
    if [[ -L "$DIR/cluster" ]]; then
        remove_tmp_pointer "$DIR/cluster" "$(readlink -- "$DIR/cluster")" /tmp/mpact-pg.
    fi
    if [[ -f "$DIR/sockdir" ]]; then
        remove_tmp_pointer "$DIR/sockdir" "$(cat -- "$DIR/sockdir")" /tmp/mpact-pgs.
    fi
    rm -rf -- "$DIR/data" "$DIR/sock" "$DIR/postgresql.log" "$DIR/initdb.log" "$DIR/conninfo" \
        "$DIR/.lock"
    rmdir -- "$DIR" 2>/dev/null || true
}

read_conninfo()
{
    [[ -f "$DIR/conninfo" ]] || die "$DIR/conninfo is missing: run pg.sh start $DIR first"
    CONNINFO="$(cat -- "$DIR/conninfo")"
}

cmd_conninfo()
{
    [[ $# -eq 1 ]] || die "conninfo needs DIR"
    set_dir "$1" no
    read_conninfo
    printf '%s\n' "$CONNINFO"
}

cmd_status()
{
    [[ $# -eq 1 ]] || die "status needs DIR"
    [[ -d "$1" ]] || exit 3
    set_dir "$1" no
    find_base || exit 3
    if is_running; then
        echo "running: $BASE/data"
        exit 0
    fi
    echo "not running: $BASE/data"
    exit 3
}

cmd_with()
{
    [[ $# -ge 3 ]] || die "with needs DIR DBNAME COMMAND"
    set_dir "$1" no
    local db="$2"
    shift 2
    read_conninfo
    REGISTRY_DATABASE_URL="$CONNINFO dbname=$(conn_quote "$db")"
    export REGISTRY_DATABASE_URL
    exec "$@"
}

cmd_psql()
{
    [[ $# -ge 1 ]] || die "psql needs DIR"
    set_dir "$1" no
    local db="${2:-registry}"
    shift
    [[ $# -gt 0 ]] && shift
    read_conninfo
    exec "$PG_BIN/psql" -X "$CONNINFO dbname=$(conn_quote "$db")" "$@"
}

cmd_replica()
{
    [[ $# -eq 2 ]] || die "replica needs PRIMARY-DIR DIR"
    set_dir "$1" no
    find_base || die "$DIR: no cluster"
    read_conninfo
    local primary="$CONNINFO" nofsync=no
    if grep -q '^fsync = off' "$BASE/data/mpact.conf" 2>/dev/null; then
        nofsync=yes
    fi
    set_dir "$2" yes
    lock_dir
    ! find_base || die "$DIR already holds a cluster"
    choose_base
    mkdir -p -- "$BASE/data"
    chmod 700 "$BASE/data"
    give_to_pg "$BASE/data"
    note "pg_basebackup into $BASE/data"
    as_pg "$PG_BIN/pg_basebackup" -d "$primary" -D "$BASE/data" -R -X stream -c fast --no-sync \
        || die "pg_basebackup failed"
    choose_sock
    write_settings "$nofsync" # this cluster's own socket directory, not the primary's
    start_server
    wait_ready
    write_conninfo
    printf '%s\n' "$CONNINFO"
}

main()
{
    [[ $# -ge 1 ]] || {
        usage >&2
        exit 2
    }
    local cmd="$1"
    shift
    case "$cmd" in
    help | -h | --help)
        usage
        return 0
        ;;
    esac
    find_pg_bin
    case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_restart "$@" ;;
    destroy) cmd_destroy "$@" ;;
    conninfo) cmd_conninfo "$@" ;;
    status) cmd_status "$@" ;;
    signal) cmd_signal "$@" ;;
    with) cmd_with "$@" ;;
    psql) cmd_psql "$@" ;;
    replica) cmd_replica "$@" ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
