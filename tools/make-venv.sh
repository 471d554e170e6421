#!/usr/bin/env sh
# Create the project's virtual environment (.venv) with Python >= 3.11; on Debian, where the venv
# module is a separate package (python3-venv), install it first when running as root.
set -eu
PY=${PY:-python3}
VENV=${1:-.venv}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
  rm -rf "$VENV"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$PY" -m venv "$VENV"
  else
    echo "cannot create a venv: install python3-venv (Debian) and retry" >&2
    exit 1
  fi
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
