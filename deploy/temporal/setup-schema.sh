#!/bin/sh
# One-shot: create Temporal's two PostgreSQL databases and bring their schemas up to date. Every step is safe to
# rerun (create and setup-schema leave what exists), so a failure is a real one and the job's restart retries it.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"; }
schema_dir=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  tool --db "$db" create
  [ "$db" = temporal ] && dir="$schema_dir/temporal/versioned" || dir="$schema_dir/visibility/versioned"
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "$dir"
done
echo "Temporal schema is up to date"
