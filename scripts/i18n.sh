#!/usr/bin/env bash
# Translation catalogues, one per package: <pkg>/translations/{messages.pot,en/LC_MESSAGES/messages.po}.
#
#   scripts/i18n.sh [extract|update|compile|all] [pkg ...]     (default: all, every package)
#
# extract  pybabel extract the package's Python and its templates into <pkg>/translations/messages.pot
#          (templates/<pkg>/ for a package; shop also owns base.html, _macros/, _nav_roles.html,
#          home/, auth/, errors/, emails/)
# update   create (init) or update the English catalogue from the .pot
# compile  compile every catalogue to .mo (what `make translations` does)
# all      extract + update + compile
#
# Source strings are Chinese; the English .po files are edited by hand (or by a translator).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PYBABEL="$BIN/pybabel"
LOCALES=(en)
ALL_PKGS=(shop catalog stations orders tourism county)

action=${1:-all}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=("${ALL_PKGS[@]}")

sources_for() {
  local pkg=$1
  local out=("$pkg")
  if [ "$pkg" = shop ]; then
    for t in templates/base.html templates/_macros templates/_nav_roles.html templates/home templates/auth templates/errors templates/emails; do
      [ -e "$t" ] && out+=("$t")
    done
  elif [ -d "templates/$pkg" ]; then
    out+=("templates/$pkg")
  fi
  printf '%s\n' "${out[@]}"
}

extract() {
  local pkg=$1
  [ -d "$pkg" ] || return 0
  mkdir -p "$pkg/translations"
  mapfile -t srcs < <(sources_for "$pkg")
  "$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location --sort-output \
    --project "village-eline-$pkg" --copyright-holder "Village e-Line" \
    -o "$pkg/translations/messages.pot" "${srcs[@]}"
}

update() {
  local pkg=$1
  [ -f "$pkg/translations/messages.pot" ] || return 0
  for loc in "${LOCALES[@]}"; do
    if [ -f "$pkg/translations/$loc/LC_MESSAGES/messages.po" ]; then
      "$PYBABEL" -q update -i "$pkg/translations/messages.pot" -d "$pkg/translations" -l "$loc" --no-fuzzy-matching --ignore-obsolete
    else
      "$PYBABEL" -q init -i "$pkg/translations/messages.pot" -d "$pkg/translations" -l "$loc"
    fi
  done
}

compile() {
  local pkg=$1
  [ -d "$pkg/translations" ] || return 0
  "$PYBABEL" -q compile -f -d "$pkg/translations"
}

for pkg in "${pkgs[@]}"; do
  case "$action" in
    extract) extract "$pkg" ;;
    update) update "$pkg" ;;
    compile) compile "$pkg" ;;
    all) extract "$pkg"; update "$pkg"; compile "$pkg" ;;
    *) echo "usage: $0 [extract|update|compile|all] [pkg ...]" >&2; exit 2 ;;
  esac
done
