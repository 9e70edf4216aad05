#!/usr/bin/env bash
# mypy --strict over the package as it installs: `sioscope.server` and
# `sioscope.inspector`. mypy does not follow setuptools' package-dir mapping, so the
# package is laid out as symlinks in build/typecheck (ignored by git) and checked there;
# reports name the files as sioscope/server/... and sioscope/inspector/...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mypy=$(realpath "$(command -v "${MYPY:-mypy}")")
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/sioscope"
ln -s "$root/src/sioscope/__init__.py" "$root/src/sioscope/__main__.py" "$root/src/sioscope/py.typed" "$tree/sioscope/"
ln -s "$root/server" "$tree/sioscope/server"
ln -s "$root/inspector" "$tree/sioscope/inspector"
cd "$tree"
exec "$mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/build/mypy-cache" -p sioscope
