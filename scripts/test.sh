#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine and runs them:
# LibreOffice headless (real-application tests), a virtual environment with the
# test extras, then ruff, mypy --strict on xlz/, and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v soffice >/dev/null 2>&1 || ! /usr/bin/python3 -c "import uno" 2>/dev/null \
   || ! command -v pdftoppm >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libreoffice-calc-nogui libreoffice-writer-nogui python3-uno poppler-utils fonts-noto-cjk \
      chromium chromium-driver >/dev/null
  else
    echo "LibreOffice is missing and cannot be installed here (needs root + apt-get):" \
         "tests marked 'libreoffice' will be skipped." >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check xlz tests bench
.venv/bin/mypy --strict xlz
.venv/bin/lint-imports
.venv/bin/python -m pytest -q "$@"
