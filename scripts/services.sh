#!/usr/bin/env bash
# services.sh up|down|status|env — PostgreSQL, Redis and a 3-master Redis Cluster on localhost for
# the demo and the tests.
#
# It runs its own servers on dedicated ports with data under $PROJECTOR_SERVICES_DIR
# (default /var/tmp/projector-services), so it never touches a database it did not
# create. Missing server packages are installed with apt on Debian/Ubuntu. Servers
# it already started are reused; "up" is idempotent. The URLs are written to
# $PROJECTOR_SERVICES_DIR/env (source it) and printed.
set -euo pipefail

DIR=${PROJECTOR_SERVICES_DIR:-/var/tmp/projector-services}
PG_PORT=${PROJECTOR_PG_PORT:-55432}
REDIS_PORT=${PROJECTOR_REDIS_PORT:-56379}
# The cluster's masters listen on CLUSTER_PORT and the next two ports. Their
# bus ports are set apart: Redis' default (port + 10000) is past 65535 here.
CLUSTER_PORT=${PROJECTOR_REDIS_CLUSTER_PORT:-57001}
CLUSTER_BUS_PORT=${PROJECTOR_REDIS_CLUSTER_BUS_PORT:-47001}
PG_DATA=$DIR/pg
REDIS_DIR=$DIR/redis
CLUSTER_DIR=$DIR/redis-cluster

log() { echo "services: $*" >&2; }

need_apt() {
	local missing=()
	pg_bin >/dev/null 2>&1 || missing+=(postgresql)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 || { log "missing ${missing[*]} and no apt-get: install them"; exit 1; }
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing ${missing[*]} with apt"
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
	# Debian starts the packaged servers on the default ports; we leave them alone.
}

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
	return 1
}

# as_pg runs a command as the user that owns the PostgreSQL data (postgres when root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_up() {
	local bin
	bin=$(pg_bin)
	mkdir -p "$DIR"
	if [ ! -s "$PG_DATA/PG_VERSION" ]; then
		log "initialising PostgreSQL in $PG_DATA"
		mkdir -p "$PG_DATA"
		[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DATA"
		as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
max_connections = 300
shared_buffers = 256MB
# A throwaway development cluster: durability is traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
	fi
	if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >/dev/null
		log "PostgreSQL started on 127.0.0.1:$PG_PORT"
	fi
	local db
	for db in projector projector_test; do
		if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "select 1 from pg_database where datname='$db'" | grep -q 1; then
			as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "create database $db" >/dev/null
		fi
	done
}

redis_up() {
	mkdir -p "$REDIS_DIR"
	if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
		return 0
	fi
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --daemonize yes \
		--pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save "" --appendonly no >/dev/null
	local i
	for i in $(seq 1 100); do
		redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && { log "Redis started on 127.0.0.1:$REDIS_PORT"; return 0; }
		sleep 0.1
	done
	log "Redis did not start; see $REDIS_DIR/redis.log"
	exit 1
}

cluster_ports() { echo "$CLUSTER_PORT" $((CLUSTER_PORT + 1)) $((CLUSTER_PORT + 2)); }

pong() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }

# own_node: the Redis on port $1 is one this script started (its directory
# is ours): only those are adopted, and only those ever flushed or reset.
own_node() {
	local dir
	dir=$(redis-cli -p "$1" config get dir 2>/dev/null | sed -n 2p)
	[ -n "$dir" ] && [ "$dir" = "$(realpath -m "$CLUSTER_DIR/$1")" ]
}

# cluster_ok: every master serves its slots and knows the other two.
cluster_ok() {
	local p info
	for p in $(cluster_ports); do
		info=$(redis-cli -p "$p" cluster info 2>/dev/null) || return 1
		grep -q '^cluster_state:ok' <<<"$info" && grep -q '^cluster_known_nodes:3' <<<"$info" || return 1
	done
}

# cluster_fresh: no master has a slot yet.
cluster_fresh() {
	local p
	for p in $(cluster_ports); do
		redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_slots_assigned:0' || return 1
	done
}

wait_cluster_ok() {
	local i
	for i in $(seq 1 "$1"); do
		cluster_ok && return 0
		sleep 0.1
	done
	return 1
}

redis_cluster_up() {
	local p i n=0 seeds=()
	for p in $(cluster_ports); do
		seeds+=("127.0.0.1:$p")
		if pong "$p"; then
			own_node "$p" && continue
			log "port $p is taken by a Redis this script did not start: set PROJECTOR_REDIS_CLUSTER_PORT"
			exit 1
		fi
		mkdir -p "$CLUSTER_DIR/$p"
		# nodes.conf keeps the cluster's shape across down/up; the data,
		# like the standalone server's, is not kept.
		redis-server --port "$p" --bind 127.0.0.1 --dir "$CLUSTER_DIR/$p" --daemonize yes \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
			--cluster-port $((CLUSTER_BUS_PORT + p - CLUSTER_PORT)) \
			--pidfile "$CLUSTER_DIR/$p/redis.pid" --logfile "$CLUSTER_DIR/$p/redis.log" --save "" --appendonly no >/dev/null
		n=$((n + 1))
	done
	for p in $(cluster_ports); do
		for i in $(seq 1 100); do
			pong "$p" && break
			[ "$i" -eq 100 ] && { log "Redis Cluster node $p did not start; see $CLUSTER_DIR/$p/redis.log"; exit 1; }
			sleep 0.1
		done
	done
	# Nodes restarted from their nodes.conf join again on their own; fresh
	# ones (no slots yet) are created at once.
	if ! cluster_fresh && wait_cluster_ok 100; then
		[ "$n" -eq 0 ] || log "Redis Cluster started on 127.0.0.1:$(cluster_ports | tr ' ' ',')"
		return 0
	fi
	# A fresh (or broken) cluster: assign the slots from scratch.
	for p in $(cluster_ports); do
		redis-cli -p "$p" flushall >/dev/null 2>&1 || true
		redis-cli -p "$p" cluster reset hard >/dev/null
	done
	redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
	if ! wait_cluster_ok 300; then
		log "Redis Cluster did not become ready; see $CLUSTER_DIR/*/redis.log"
		exit 1
	fi
	log "Redis Cluster started on 127.0.0.1:$(cluster_ports | tr ' ' ',')"
}

redis_cluster_down() {
	local p stopped=0
	for p in $(cluster_ports); do
		own_node "$p" || continue # never a server it did not start
		redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 && stopped=1
	done
	[ "$stopped" -eq 0 ] || log "Redis Cluster stopped"
}

write_env() {
	cat >"$DIR/env" <<ENV
export PROJECTOR_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/projector?sslmode=disable
export PROJECTOR_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export PROJECTOR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/projector_test?sslmode=disable
export PROJECTOR_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1
export PROJECTOR_TEST_REDIS_CLUSTER_URL=redis://127.0.0.1:$CLUSTER_PORT
ENV
	cat "$DIR/env"
}

case "${1:-}" in
up)
	need_apt
	pg_up
	redis_up
	redis_cluster_up
	write_env
	;;
down)
	if bin=$(pg_bin) && [ -s "$PG_DATA/PG_VERSION" ]; then
		as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 && log "PostgreSQL stopped" || true
	fi
	if [ "$(redis-cli -p "$REDIS_PORT" config get dir 2>/dev/null | sed -n 2p)" = "$(realpath -m "$REDIS_DIR")" ]; then
		redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 && log "Redis stopped" || true
	fi
	redis_cluster_down
	;;
status)
	rc=0
	if bin=$(pg_bin) && [ -s "$PG_DATA/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		echo "postgres: up on 127.0.0.1:$PG_PORT ($PG_DATA)"
	else
		echo "postgres: down"; rc=1
	fi
	if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
		echo "redis: up on 127.0.0.1:$REDIS_PORT"
	else
		echo "redis: down"; rc=1
	fi
	if cluster_ok; then
		echo "redis cluster: up on 127.0.0.1:$(cluster_ports | tr ' ' ',')"
	else
		echo "redis cluster: down"; rc=1
	fi
	exit $rc
	;;
env)
	cat "$DIR/env"
	;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
