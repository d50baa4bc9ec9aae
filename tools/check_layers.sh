#!/usr/bin/env bash
# Enforces the layer rules of ../shared/DESIGN.md on includes, so a stray dependency
# fails CI instead of waiting for review.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root/src" || exit 2
fail=0
check() { # folder pattern message
  local hits
  hits=$(grep -rnE "#include \"($2)" "$1" 2>/dev/null)
  if [ -n "$hits" ]; then echo "layer violation: $3"; echo "$hits"; fail=1; fi
}
check common "io/|http/|auth/|s3/|meta/|storage/|server/" "common/ depends on nothing above it"
check io "http/|auth/|s3/|meta/|storage/|server/" "io/ depends only on common/"
check http "s3/|auth/|meta/|storage/|server/" "http/ knows nothing of S3"
check auth "http/|s3/|meta/|storage/|server/" "auth/ depends on common/ and io/ only"
check s3 "server/|meta/kv/|storage/local/|storage/mem/|storage/rados/" "s3/ names no concrete backend"
check meta "http/|auth/|s3/|storage/|server/" "meta/ depends on common/ and io/ only"
check storage "http/|auth/|s3/|meta/|server/" "storage/ depends on common/ and io/ only"
# Only io/ touches files or the real clock.
hits=$(grep -rnE '\b(fopen|::open|::pread|::write|::unlink|::rename|::fsync|::fdatasync|std::ofstream|std::ifstream|system_clock::now|steady_clock::now|::time\()' \
  --include='*.cc' --include='*.h' . | grep -vE '^\./(io|http|server)/' )
if [ -n "$hits" ]; then echo "file or clock access outside io/:"; echo "$hits"; fail=1; fi
# The CLI is built on the public client headers only.
hits=$(grep -rnE '#include "(common|io|http|auth|s3|meta|storage|server)/' "$root/cli" 2>/dev/null)
if [ -n "$hits" ]; then echo "layer violation: cli/ uses only <sluice/...> public headers"; echo "$hits"; fail=1; fi
hits=$(grep -rnE '#include "(s3|meta|storage|server|http)/' "$root/client" 2>/dev/null)
if [ -n "$hits" ]; then echo "layer violation: client/ uses public headers, common, auth and io only"; echo "$hits"; fail=1; fi
[ $fail = 0 ] && echo "layers: 1 passed, 0 failed" || echo "layers: 0 passed, 1 failed"
exit $fail
