#!/usr/bin/env bash
# Smoke test of the Linux bundle made by packaging/build.sh, as a user without Python would run it:
# the tar.gz unpacked into an empty temporary folder, every command run from a fresh working
# folder with `env -i` (no variables from this shell, HOME a new empty folder) and a PATH whose
# only entries are tripwires named python, python3 and python3.X: the test fails if anything
# runs one.  The .deb is unpacked (dpkg-deb -x, nothing installed) and its layout checked.
#
# Commands: --version, demo --small, --bundle-self-check (codecs, SimpleITK, migrations,
# resources: packaging/bundle_check.py), scan --json, recist (a good and a malformed case),
# --demo --screenshot offscreen with a new reads database, audit verify of that database.
#
#   bash packaging/smoke_test.sh [dist/namecar-viewer-VERSION-linux-x86_64.tar.gz]
#
# Prints the wall time of each command (the first runs are cold: new HOME, nothing cached).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARBALL="${1:-$(ls -t dist/namecar-viewer-*-linux-*.tar.gz 2>/dev/null | sed -n 1p)}"
[ -f "$TARBALL" ] || { echo "smoke_test: no bundle (run packaging/build.sh first)" >&2; exit 1; }
NAME=$(basename "$TARBALL" .tar.gz)
VERSION=${NAME#namecar-viewer-}
VERSION=${VERSION%-linux-*}
CASE="$ROOT/tests/data/recist_cases/eligible_mpr.json"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/namecar-smoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/home" "$TMP/work" "$TMP/nopython"
for py in python python3 python3.11 python3.12 python3.13; do
  # shellcheck disable=SC2016 # $0 and $* belong to the tripwire script
  printf '#!/bin/sh\necho "$0 $*" >>"%s/python-was-run"\nexit 127\n' "$TMP" >"$TMP/nopython/$py"
  chmod +x "$TMP/nopython/$py"
done
tar -xzf "$TARBALL" -C "$TMP"
APP="$TMP/$NAME/namecar-viewer"
[ -x "$APP" ] || { echo "smoke_test: $NAME/namecar-viewer missing from $TARBALL" >&2; exit 1; }

failures=0
pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
# run NAME [VAR=VALUE...] -- ARGS...: the bundle in a clean environment, from $TMP/work;
# stdout to $TMP/NAME.out, stderr to $TMP/NAME.err, exit code in $rc, seconds in $secs
run() {
  local name=$1 start end
  shift
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  start=$(date +%s.%N)
  set +e
  (cd "$TMP/work" && env -i PATH="$TMP/nopython" HOME="$TMP/home" "${vars[@]}" "$APP" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err")
  rc=$?
  set -e
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  echo "      namecar-viewer $*: exit $rc in $secs s"
  if [ "$rc" != 0 ]; then sed 's/^/      | /' "$TMP/$name.err" | tail -15; fi
}

echo "== $TARBALL ($(du -sh "$TMP/$NAME" | cut -f1) unpacked, $(du -h "$TARBALL" | cut -f1) packed)"

run version -- --version
if [ "$rc" = 0 ] && grep -q "$VERSION" "$TMP/version.out" "$TMP/version.err"; then
  pass "--version: $(head -1 "$TMP/version.out")"
else
  run help -- --help
  if grep -q -- "--version" "$TMP/help.out"; then
    fail "--version (exit $rc, no $VERSION in its output)"
  else
    echo "skip  --version: this build's command line has no --version yet (--help: exit $rc)"
  fi
fi

run demo -- demo --small demo
n_dcm=$(find "$TMP/work/demo" -type f 2>/dev/null | grep -vc '\.json$' || true)
if [ "$rc" = 0 ] && [ -f "$TMP/work/demo/ground_truth.json" ] && [ "$n_dcm" -gt 0 ]; then
  pass "demo --small: $n_dcm files and ground_truth.json"
else
  fail "demo --small (exit $rc, $n_dcm files)"
fi

# codecs, SimpleITK, pylibjpeg's plugins, migrations and resources inside the bundle
# (packaging/bundle_check.py): a demo CT image re-encoded with each lossless codec and loaded
ct=$(cd "$TMP/work" && find demo -name '*.dcm' -path '*CT*' | sort | sed -n 1p)
run self_check -- --bundle-self-check "${ct:-demo/none.dcm}"
sed 's/^/      /' "$TMP/self_check.out"
if [ "$rc" = 0 ] && ! grep -q '^FAIL' "$TMP/self_check.out"; then
  pass "bundle self-check: $(grep -c '^ok' "$TMP/self_check.out") checks"
else
  fail "bundle self-check (exit $rc)"
fi

run scan -- scan demo --json
if [ "$rc" = 0 ] && grep -q '"stacks"' "$TMP/scan.out" && ! grep -q '"stacks": \[\]' "$TMP/scan.out" &&
  grep -q '"modality": "CT"' "$TMP/scan.out"; then
  pass "scan --json: $(grep -c '"series_instance_uid"' "$TMP/scan.out" || true) stacks, CT among them"
else
  fail "scan demo --json (exit $rc)"
fi

cp "$CASE" "$TMP/work/case.json"
run recist -- recist case.json
if [ "$rc" = 0 ] && grep -q '"overall_response"' "$TMP/recist.out" &&
  grep -q '"criteria": "recist1.1"' "$TMP/recist.out"; then
  pass "recist $(basename "$CASE")"
else
  fail "recist $(basename "$CASE") (exit $rc)"
fi

# a case the schema refuses: one message naming the key, exit 2 (jsonschema and
# resources/case.schema.json inside the bundle), no traceback
printf '{"criteria": "recist1.1", "timepoints": 5}\n' >"$TMP/work/bad_case.json"
run bad_case -- recist bad_case.json
if [ "$rc" = 2 ] && grep -q "timepoints" "$TMP/bad_case.err" && ! grep -q Traceback "$TMP/bad_case.err"; then
  pass "recist of a malformed case: exit 2, $(grep -m1 timepoints "$TMP/bad_case.err")"
else
  fail "recist of a malformed case (exit $rc): $(head -3 "$TMP/bad_case.err")"
fi

# The window, offscreen, on the demo (written once into the new HOME), with a reads database
# of its own: opening it runs the Alembic migrations from the bundle.
run screenshot QT_QPA_PLATFORM=offscreen -- --demo --screenshot shot.png --db "$TMP/work/reads.sqlite"
shot="$TMP/work/shot.png"
size=$(stat -c %s "$shot" 2>/dev/null || echo 0)
cp "$shot" dist/smoke-screenshot.png 2>/dev/null || true  # to look at (dist/ is not committed)
if [ "$rc" = 0 ] && [ "$size" -gt 20000 ] && [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
  pass "--demo --screenshot: PNG of $size bytes"
else
  fail "--demo --screenshot (exit $rc, $size bytes)"
fi
if grep -qi "Reads database unavailable\|traceback" "$TMP/screenshot.err"; then
  fail "--demo --screenshot printed: $(grep -i -m1 "Reads database unavailable\|traceback" "$TMP/screenshot.err")"
fi

run audit -- audit verify --db "$TMP/work/reads.sqlite"
if [ "$rc" = 0 ]; then
  pass "reads database made by the migrations in the bundle: $(head -1 "$TMP/audit.out")"
else
  fail "audit verify of the screenshot run's reads database (exit $rc)"
fi

if [ -e "$TMP/python-was-run" ]; then
  fail "something ran Python from PATH: $(cat "$TMP/python-was-run")"
else
  pass "no python from PATH was run"
fi

DEB=$(ls -t dist/namecar-viewer_"$VERSION"_*.deb 2>/dev/null | sed -n 1p || true)
if [ -n "$DEB" ]; then
  echo "== $DEB ($(du -h "$DEB" | cut -f1))"
  dpkg-deb -x "$DEB" "$TMP/deb"
  link=$(readlink "$TMP/deb/usr/bin/namecar-viewer" || true)
  if [ "$link" = /opt/namecar-viewer/namecar-viewer ]; then
    pass "/usr/bin/namecar-viewer -> $link"
  else
    fail "/usr/bin/namecar-viewer is '$link'"
  fi
  entry="$TMP/deb/usr/share/applications/namecar-viewer.desktop"
  if grep -q '^Exec=namecar-viewer' "$entry" && grep -q '^Icon=namecar-viewer$' "$entry"; then
    pass "menu entry /usr/share/applications/namecar-viewer.desktop"
  else
    fail "menu entry /usr/share/applications/namecar-viewer.desktop"
  fi
  missing_icons=""
  for s in 16 24 32 48 64 128 256 512; do
    [ -s "$TMP/deb/usr/share/icons/hicolor/${s}x$s/apps/namecar-viewer.png" ] || missing_icons="$missing_icons $s"
  done
  [ -s "$TMP/deb/usr/share/icons/hicolor/scalable/apps/namecar-viewer.svg" ] || missing_icons="$missing_icons svg"
  if [ -z "$missing_icons" ]; then
    pass "hicolor icons 16-512 and scalable"
  else
    fail "icons missing:$missing_icons"
  fi
  dpkg-deb -f "$DEB" Depends | sed 's/^/      Depends: /'
  APP="$TMP/deb/opt/namecar-viewer/namecar-viewer"
  run deb_recist -- recist case.json
  if [ "$rc" = 0 ] && grep -q '"overall_response"' "$TMP/deb_recist.out"; then
    pass "/opt/namecar-viewer/namecar-viewer recist"
  else
    fail "the .deb's executable (exit $rc)"
  fi
else
  echo "skip  no dist/namecar-viewer_${VERSION}_*.deb"
fi

if [ "$failures" = 0 ]; then
  echo "smoke_test: bundle $NAME passed"
else
  echo "smoke_test: $failures check(s) FAILED for $NAME" >&2
  exit 1
fi
