#!/usr/bin/env bash
# Refreshes translations/quantscope_<lang>.ts from the sources with lupdate: new tr() strings are
# added as unfinished, strings gone from the sources are dropped (-no-obsolete). Run it by hand
# after changing user-visible text, then translate the new entries (e.g. with linguist6). The
# build never runs lupdate: the .ts files are committed and lrelease compiles them at build time
# (qt_add_translations in app/CMakeLists.txt), embedding them under ":/i18n/".
#
#   scripts/update-translations.sh              # every translations/*.ts
#   scripts/update-translations.sh fr           # creates or updates translations/quantscope_fr.ts
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Debian's /usr/bin/lupdate is qtchooser's and may pick Qt 5; prefer the Qt 6 tool.
lupdate="${LUPDATE:-}"
if [ -z "$lupdate" ]; then
  for candidate in /usr/lib/qt6/bin/lupdate /usr/lib/qt6/libexec/lupdate lupdate-qt6 lupdate6; do
    if command -v "$candidate" >/dev/null 2>&1; then lupdate="$candidate"; break; fi
  done
fi
if [ -z "$lupdate" ]; then
  echo "update-translations: lupdate (Qt 6) not found; install qt6-l10n-tools (scripts/install-deps.sh)" >&2
  exit 1
fi

ts_files=()
if [ $# -gt 0 ]; then
  for lang in "$@"; do ts_files+=("translations/quantscope_${lang}.ts"); done
else
  shopt -s nullglob
  ts_files=(translations/quantscope_*.ts)
  shopt -u nullglob
fi
if [ ${#ts_files[@]} -eq 0 ]; then
  echo "update-translations: no translations/quantscope_*.ts; name a language, e.g. $0 de" >&2
  exit 1
fi

# GUI sources plus core, whose QT_TRANSLATE_NOOP tables (e.g. "Playground" reasons) the GUI shows.
# No source locations in the .ts: line numbers would churn with every unrelated edit.
"$lupdate" -no-obsolete -locations none -extensions cpp,h \
  app/gui widgets core \
  -ts "${ts_files[@]}"
