#!/usr/bin/env bash
# Runs a command with the throwaway test servers up (scripts/test-services.sh) and their
# addresses in the environment, and stops them afterwards, whatever the command's outcome.
# Exits with the command's status.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
svc="$(mktemp -d)"
trap '"$here/test-services.sh" stop "$svc"' EXIT
"$here/test-services.sh" start "$svc"
# shellcheck disable=SC1091
source "$svc/env"
set +e
"$@"
rc=$?
set -e
exit $rc
