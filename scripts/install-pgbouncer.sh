#!/bin/sh
# PgBouncer (Debian's package) for the transaction-pooling tests (tests/pgbouncer/): installed
# when this user can (root with apt-get), as `make browser` does for Chromium; otherwise those
# tests skip locally and fail under CI=true.
set -eu

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing pgbouncer (Debian package) for the transaction-pooling tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
  # The package starts a system-wide pgbouncer on 6432; the tests start private ones.
  if command -v service >/dev/null 2>&1; then service pgbouncer stop >/dev/null 2>&1 || true; fi
else
  echo "pgbouncer is not installed: the transaction-pooling tests will be skipped"
fi
