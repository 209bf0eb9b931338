#!/usr/bin/env bash
# Sourced by .ci/run: install (if missing) and start what the end-to-end tests use for real:
# a PostgreSQL server on loopback, and Chromium with its driver for the dashboard tests.
# Exports NASFORGE_TEST_POSTGRES for the PostgreSQL tests. Ray needs no service here: its
# tests start a cluster with `ray start --head` on loopback themselves.
need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
SELECT 'CREATE ROLE nasforge LOGIN PASSWORD ''nasforge'' CREATEDB'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nasforge')\gexec
DROP DATABASE IF EXISTS nasforge_ci;
CREATE DATABASE nasforge_ci OWNER nasforge;
SQL
export NASFORGE_TEST_POSTGRES="postgresql+psycopg://nasforge:nasforge@127.0.0.1:5432/nasforge_ci"
