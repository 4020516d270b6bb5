#!/usr/bin/env bash
# Builds and installs CommonShelf, then runs the unit suite (tests/unit), on every supported
# Python found on this machine (on PATH as python3.X, or under pyenv). Each gets a venv of
# its own under .venvs/, reinstalled (package build included) only when pyproject.toml,
# setup.py or the Cython kernel changed, or with FRESH=1. Exits non-zero if any fails.
#   bash tests/pythons.sh            # every supported Python found
#   bash tests/pythons.sh 3.12       # only these
set -uo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(3.11 3.12 3.13)

find_python() {
  local v=$1 found
  found=$(command -v "python$v" 2>/dev/null) && "$found" -c 'pass' 2>/dev/null && {
    echo "$found"; return; }
  for found in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python; do
    [ -x "$found" ] && { echo "$found"; return; }
  done
}

failed=() ran=()
for v in "${versions[@]}"; do
  python=$(find_python "$v")
  if [ -z "$python" ]; then
    echo "== Python $v: not found here, skipped"
    continue
  fi
  venv=".venvs/py$v"
  log="$venv.log"
  mkdir -p .venvs
  started=$(date +%s)
  stamp="$venv/.installed"
  if [ -z "${FRESH:-}" ] && [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] \
       && [ "$stamp" -nt setup.py ] && [ "$stamp" -nt localization_ext/_hologram.pyx ]; then
    echo "== Python $v ($python): $venv is up to date (FRESH=1 reinstalls)"
  else
    echo "== Python $v ($python): installing into $venv (log: $log)"
    rm -f "$stamp"
    if ! { { [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"; } \
           && "$venv/bin/python" -m pip install --quiet --upgrade pip \
           && "$venv/bin/python" -m pip install --quiet -e '.[test]'; } >"$log" 2>&1; then
      echo "== Python $v: install FAILED; the end of $log:"
      tail -n 20 "$log"
      failed+=("$v (install)")
      continue
    fi
    touch "$stamp"
  fi
  # The editable install built the kernel in place for this Python (its own ABI suffix).
  "$venv/bin/python" -m pytest tests/unit -q -p no:cacheprovider
  rc=$?
  echo "== Python $v: unit suite exit $rc in $(( $(date +%s) - started )) s"
  ran+=("$v")
  [ $rc -eq 0 ] || failed+=("$v (tests)")
done

if [ ${#ran[@]} -eq 0 ] && [ ${#failed[@]} -eq 0 ]; then
  echo "no supported Python (${versions[*]}) found"; exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED on: ${failed[*]}"; exit 1
fi
echo "unit suite passed on Python ${ran[*]}"
