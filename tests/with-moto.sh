#!/usr/bin/env bash
# Runs a command with a real local AWS API: moto's server on 127.0.0.1 (a free port),
# from the tools venv (tests/venv.sh), started before and stopped after.
# The command sees CPLOGS_TEST_ENDPOINT and dummy credentials.
set -euo pipefail
venv=$(bash "$(dirname "$0")/venv.sh")
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$moto_log"
}
trap cleanup EXIT
ready=
for _ in $(seq 1 150); do
  if "$venv/bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ready" ]; then
  cat "$moto_log" >&2
  echo "moto_server did not start on 127.0.0.1:$port" >&2
  exit 1
fi
export CPLOGS_TEST_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
echo "moto server on $CPLOGS_TEST_ENDPOINT" >&2
"$@"
