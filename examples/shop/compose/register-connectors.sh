#!/bin/sh
# register-connectors.sh — run once by the connect-init service (curl image);
# also usable from the host: CONNECT_URL=http://localhost:8083 sh register-connectors.sh
#
# For every connectors/NAME.json it PUTs the config to /connectors/NAME/config,
# which creates the connector or updates it in place (so re-running is safe),
# then waits until the connector and all its tasks are RUNNING. It exits
# non-zero, printing Connect's status, if one FAILED or never started.
set -eu

CONNECT_URL=${CONNECT_URL:-http://connect:8083}
CONNECTORS_DIR=${CONNECTORS_DIR:-$(dirname "$0")/connectors}
WAIT_SECONDS=${WAIT_SECONDS:-180}
resp=$(mktemp)
trap 'rm -f "$resp"' EXIT

log() { echo "connect-init: $*" >&2; }

# Connect answers /connector-plugins once its plugins are loaded.
waited=0
until curl -fsS -o /dev/null "$CONNECT_URL/connector-plugins"; do
	waited=$((waited + 2))
	[ "$waited" -lt "$WAIT_SECONDS" ] || { log "Kafka Connect is not answering at $CONNECT_URL"; exit 1; }
	sleep 2
done

names=""
for file in "$CONNECTORS_DIR"/*.json; do
	[ -e "$file" ] || { log "no connector files in $CONNECTORS_DIR"; exit 1; }
	name=$(basename "$file" .json)
	code=$(curl -sS -o "$resp" -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/json' --data @"$file" \
		"$CONNECT_URL/connectors/$name/config")
	case $code in
	200 | 201) log "registered $name (HTTP $code)" ;;
	*)
		log "registering $name failed (HTTP $code):"
		cat "$resp" >&2
		echo >&2
		exit 1
		;;
	esac
	names="$names $name"
done

# The status is {"connector":{"state":…},"tasks":[{"state":…},…]}: done when
# every state is RUNNING and there is at least one task.
for name in $names; do
	waited=0
	while :; do
		if curl -fsS -o "$resp" "$CONNECT_URL/connectors/$name/status"; then
			states=$(grep -o '"state" *: *"[A-Z_]*"' "$resp" || true)
			total=$(echo "$states" | grep -c state || true)
			running=$(echo "$states" | grep -c RUNNING || true)
			if echo "$states" | grep -q FAILED; then
				log "$name FAILED:"
				cat "$resp" >&2
				echo >&2
				exit 1
			fi
			if [ "$total" -ge 2 ] && [ "$running" -eq "$total" ]; then
				log "$name is RUNNING"
				break
			fi
		fi
		waited=$((waited + 2))
		if [ "$waited" -ge "$WAIT_SECONDS" ]; then
			log "$name did not reach RUNNING within ${WAIT_SECONDS}s:"
			cat "$resp" >&2
			echo >&2
			exit 1
		fi
		sleep 2
	done
done
