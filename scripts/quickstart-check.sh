#!/usr/bin/env bash
# The README's first command, tested as a newcomer uses it: scripts/run.sh in the background
# with the credential it generates; /health answers; the credential it printed signs a boto3
# list_buckets; SIGTERM stops it with exit status 0; and the server left nothing in the work
# tree that git would pick up (the data directory and the IAM key file are ignored).
# scripts/fresh-check.sh runs it in the fresh root after scripts/test.sh; it also runs on a
# developer's machine. SLUICE_QUICKSTART_PORT picks the port (default: a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SLUICE_QUICKSTART_PORT:-$(/usr/bin/python3 -c \
  'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
log=$(mktemp /tmp/sluice-quickstart.XXXXXX)
data=./data
fresh_data=0; [ -e "$data" ] || fresh_data=1
in_git=0; git rev-parse --is-inside-work-tree >/dev/null 2>&1 && in_git=1
[ $in_git = 1 ] && before=$(git status --porcelain --untracked-files=all)
pid=
finish() {
  local rc=$?
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  # Leave a developer's ./data as it was: remove only what this check created.
  [ $fresh_data = 1 ] && rm -rf "$data" ./data.iam-key
  rm -f "$log"
  exit $rc
}
trap finish EXIT
fail() { echo "quickstart-check: FAILED: $*"; echo "--- scripts/run.sh output:"; cat "$log"; exit 1; }

# The credential is generated on first start: no SLUICE_ROOT_* in the environment.
env -u SLUICE_ROOT_ACCESS_KEY -u SLUICE_ROOT_SECRET_KEY \
  scripts/run.sh --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1200); do   # run.sh builds first: up to 10 minutes when nothing is cached
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "scripts/run.sh exited before serving"
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || fail "/health never answered"
ak=$(sed -n 's/^ *access key: //p' "$log" | head -1)
sk=$(sed -n 's/^ *secret key: //p' "$log" | head -1)
[ -n "$ak" ] && [ -n "$sk" ] || fail "no credential printed"
/usr/bin/python3 - "$port" "$ak" "$sk" <<'EOF' || fail "boto3 list_buckets with the printed credential"
import sys, boto3
port, ak, sk = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id=ak, aws_secret_access_key=sk)
s3.create_bucket(Bucket="quickstart")
s3.put_object(Bucket="quickstart", Key="hello.txt", Body=b"hello")
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
assert "quickstart" in names, names
assert s3.get_object(Bucket="quickstart", Key="hello.txt")["Body"].read() == b"hello"
bad = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id=ak, aws_secret_access_key=sk + "x")
try:
    bad.list_buckets()
    raise SystemExit("a wrong secret was accepted")
except bad.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "SignatureDoesNotMatch", e.response["Error"]
print("quickstart-check: boto3 list_buckets signed with the printed credential: ok")
EOF
# The web console is compiled into the binary: its page and script are served.
curl -fsS "http://127.0.0.1:$port/_sluice/console/" | grep -q 'console.js' || fail "no console at /_sluice/console/"
curl -fsS -o /dev/null "http://127.0.0.1:$port/_sluice/console/console.js" || fail "no console.js"
echo "quickstart-check: the web console is served at /_sluice/console/"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ $rc = 0 ] || fail "scripts/run.sh exited with status $rc after SIGTERM"
echo "quickstart-check: SIGTERM: exit status 0"
if [ $in_git = 1 ]; then
  after=$(git status --porcelain --untracked-files=all)
  [ "$after" = "$before" ] || fail "the server left files git would commit: $(diff <(echo "$before") <(echo "$after"))"
  echo "quickstart-check: nothing the server wrote is visible to git (data/, data.iam-key ignored)"
fi
echo "quickstart-check: passed"
