#!/usr/bin/env bash
# Property-based tests of the REST API (`s3db serve`) from its own OpenAPI document:
# schemathesis generates requests for every operation (valid and invalid ones) and checks
# that the server never answers 5xx and that every answer matches the documented schema.
# Needs Python 3 and PyPI; runs the debug binary (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

version="4.32.5"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-20}"
venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi
cargo build --quiet -p s3db-cli --bin s3db
s3db="$PWD/target/debug/s3db"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

store="file://$work/data"
cat > "$work/people.json" <<'JSON'
{"name": "people", "timestamps": true,
 "attributes": {
   "name": "string|min:2|max:40",
   "email": "email",
   "age": "number|optional|min:0|max:150|integer:true",
   "active": "boolean|optional",
   "role": {"type": "enum", "values": ["admin", "dev", "ops"], "optional": true},
   "tags": "array|items:string|optional|max:5",
   "address": {"$$type": "object|optional", "city": "string|optional", "zip": "string|optional"},
   "site": "url|optional",
   "born": "date|optional"
 },
 "partitions": {"byRole": {"fields": {"role": "string"}}}}
JSON
cat > "$work/notes.json" <<'JSON'
{"name": "notes", "attributes": {"title": "string|max:200", "score": "number|optional", "ip": "ip4|optional"}}
JSON
"$s3db" -c "$store" create-resource --file "$work/people.json" >/dev/null
"$s3db" -c "$store" create-resource --file "$work/notes.json" >/dev/null

"$s3db" -c "$store" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/serve.out")
[ -n "$base" ] || { echo "s3db serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }

"$venv/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$examples" \
  --generation-deterministic \
  --no-color
