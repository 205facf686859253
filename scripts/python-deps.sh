#!/usr/bin/env bash
# Debian packages the Python venv builds against (run by `make venv` before pip):
# mysqlclient, the doris connector's MySQL-protocol driver, has no Linux wheel on PyPI and
# compiles against libmariadb's headers, found with pkg-config. Installs only what is missing.
set -euo pipefail

missing=()
for package in libmariadb-dev pkg-config gcc; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "python-deps: installing ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
