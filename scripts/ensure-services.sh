#!/usr/bin/env bash
# Make sure the Redis and PostgreSQL that the tests use are reachable on loopback,
# starting local instances when the binaries exist. Never installs anything
# (.ci/run does that). Prints what it did; exits 0 even if a service is missing,
# so tests can skip - unless SANKE_REQUIRE_SERVICES=1, then a missing one fails.
set -u
REDIS_PORT=${SANKE_TEST_REDIS_PORT:-6379}
PG_PORT=${SANKE_TEST_PG_PORT:-5432}
missing=()

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/"$REDIS_PORT" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
pg_up() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

if redis_up; then
  echo "redis: up on 127.0.0.1:$REDIS_PORT"
elif command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up && echo "redis: started on 127.0.0.1:$REDIS_PORT" || missing+=(redis)
else
  echo "redis: redis-server not installed"; missing+=(redis)
fi

if pg_up; then
  echo "postgresql: up on 127.0.0.1:$PG_PORT"
elif command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
  pg_up && echo "postgresql: started cluster $version/main" || missing+=(postgresql)
else
  echo "postgresql: no cluster installed"; missing+=(postgresql)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "missing services: ${missing[*]} (tests that need them will skip)"
  [ "${SANKE_REQUIRE_SERVICES:-0}" = "1" ] && { echo "SANKE_REQUIRE_SERVICES=1: failing"; exit 1; }
fi
exit 0
