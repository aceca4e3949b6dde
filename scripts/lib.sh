# Shared set-up for scripts/serve and scripts/test: a virtual environment and the built web client.
# Sourced, not run. Everything is idempotent and skipped when already up to date.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '==> %s\n' "$*" >&2; }

apt_install() {
  # Debian packages the project needs where they are absent (the machines run as root; sudo otherwise).
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

quietly() {
  # Run a command, showing its output only if it fails.
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "failed: $*" >&2
    exit 1
  fi
  rm -f "$log"
}

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

ensure_venv() {
  # $1: the extras to install ("" for the server alone, "dev" for the tests).
  local extras="${1:-}" spec="" stamp
  [ -n "$extras" ] && spec="[$extras]"
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Haven needs Python 3.11 or newer" >&2; exit 1; }
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
  fi
  # Every dependency is pinned in constraints.txt, so a fresh machine installs exactly what was tested.
  stamp="$(stamp_of "$ROOT/pyproject.toml" "$ROOT/constraints.txt")-$extras"
  if [ "$(cat "$VENV/.haven-installed" 2>/dev/null)" != "$stamp" ]; then
    say "installing Haven and its dependencies into .venv"
    quietly "$VENV/bin/python" -m pip install -q --upgrade pip
    quietly "$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT$spec"
    echo "$stamp" > "$VENV/.haven-installed"
  fi
}

ensure_web() {
  local web="$ROOT/web" stamp
  command -v npm >/dev/null || apt_install nodejs npm
  stamp="$(stamp_of "$web/package-lock.json")"
  if [ ! -d "$web/node_modules" ] || [ "$(cat "$web/node_modules/.haven-installed" 2>/dev/null)" != "$stamp" ]; then
    say "installing the web client's packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$stamp" > "$web/node_modules/.haven-installed"
  fi
  say "building the web client"
  (cd "$web" && npm run --silent build >/dev/null)
}
