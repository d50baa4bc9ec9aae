#!/usr/bin/env bash
# What scripts/run.sh's server writes (./data/ and ./data.iam-key, the IAM master key) must
# be ignored by git, so that `git add -A` never commits a secret. usage: check_ignored.sh REPO
set -u
cd "${1:-.}" || exit 2
fail=0
for p in data/root-credentials data/index/CURRENT data/tmp/x data.iam-key; do
  git check-ignore -q "$p" || { echo "not ignored by git: $p"; fail=1; }
done
[ $fail = 0 ] && echo "check_ignored: the server's files are ignored"
exit $fail
