#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are missing (apt), quietly, logging to
# stderr. Used by `make venv`, `make release` and scripts/services.sh.
set -euo pipefail

missing=()
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure-packages: installing ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
