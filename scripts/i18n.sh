#!/usr/bin/env bash
# Translation catalogues, one per package: <pkg>/translations/{messages.pot,en/LC_MESSAGES/messages.po}.
#
#   scripts/i18n.sh [extract|update|compile|all] [pkg ...]     (default: all, every package)
#
# extract  pybabel extract the package's Python and its templates into <pkg>/translations/messages.pot
#          (templates/<pkg>/ for a package; shop also owns base.html, confirm.html, _macros/, _nav_roles.html,
#          home/, auth/, errors/, and the e-mails under emails/ that no package claims;
#          emails/<pkg>_*.txt (e.g. emails/order_confirmation.txt -> orders) belong to that package)
#          Plain-text templates (*.txt, the e-mails) are extracted as Jinja too (babel.cfg only maps *.html).
#          plus <pkg>/translations/dynamic.pot, if present: hand-kept msgids that the code only looks up at
#          run time (`_(STATUS_LABELS[s])`, `{{ _(label) }}`) and that extraction therefore cannot see
# update   create (init) or update the English catalogue from the .pot
# compile  compile every catalogue to .mo (what `make translations` does)
# all      extract + update + compile
#
# Source strings are Chinese; the English .po files are edited by hand (or by a translator).
#
# The app merges every package's catalogue into ONE at run time (BABEL_TRANSLATION_DIRECTORIES, shop/__init__.py),
# so a msgid must have the same English in every package that has it (tests/test_i18n_catalogues.py fails
# otherwise). Same meaning: use the English the other packages already use. A Chinese word with two
# meanings gets a context: `pgettext("measure", "单位")` / `lazy_pgettext(...)` in Python,
# `{{ pgettext("verb", "预订") }}` in templates (contexts in use: organisation, measure, verb, noun, payout, plural).
# A count of things goes through ngettext with the same Chinese twice and `%(num)s` for the count:
# `{{ ngettext("%(num)s 间", "%(num)s 间", booking.units) }}` (Python: `flask_babel.ngettext`, the count an int);
# the English .po gives msgstr[0] "%(num)s room" and msgstr[1] "%(num)s rooms" (never "room(s)").
# An error message with a count is declared the same way in <pkg>/errors.py:
# `Nn_("最多预订 %(num)s 晚", "最多预订 %(num)s 晚", count="nights")` (shop.errors.Nn_, extracted as ngettext).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
PYBABEL="$BIN/pybabel"
LOCALES=(en)
ALL_PKGS=(shop catalog stock orders stations tourism institutions invoices reviews favourites search county admin)  # ledger and demo show no text of their own

action=${1:-all}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=("${ALL_PKGS[@]}")

# e-mail templates named after a package (orders: order_*.txt) belong to that package's catalogue
email_prefix() {
  case "$1" in
    orders) echo order_ ;;
    tourism) echo booking_ ;;
    stations) echo station_ ;;
    county) echo county_ ;;
    *) echo "" ;;
  esac
}

sources_for() {
  local pkg=$1
  local out=("$pkg")
  local f prefix owned
  if [ "$pkg" = shop ]; then
    for t in templates/base.html templates/confirm.html templates/_macros templates/_nav_roles.html templates/home templates/auth templates/errors; do
      [ -e "$t" ] && out+=("$t")
    done
    for f in templates/emails/*; do
      [ -e "$f" ] || continue
      owned=
      for p in "${ALL_PKGS[@]}"; do
        prefix=$(email_prefix "$p")
        [ -n "$prefix" ] && [[ "$(basename "$f")" == "$prefix"* ]] && owned=1
      done
      [ -z "$owned" ] && out+=("$f")
    done
  else
    [ -d "templates/$pkg" ] && out+=("templates/$pkg")
    prefix=$(email_prefix "$pkg")
    if [ -n "$prefix" ]; then
      for f in templates/emails/"$prefix"*; do
        [ -e "$f" ] && out+=("$f")
      done
    fi
  fi
  printf '%s\n' "${out[@]}"
}

# babel.cfg plus a Jinja mapping for the plain-text e-mail templates
MAPPING=$(mktemp)
trap 'rm -f "$MAPPING"' EXIT
{ cat babel.cfg; printf '\n[jinja2: **.txt]\nextensions = jinja2.ext.do,jinja2.ext.loopcontrols\n'; } >"$MAPPING"

extract() {
  local pkg=$1
  [ -d "$pkg" ] || return 0
  mkdir -p "$pkg/translations"
  mapfile -t srcs < <(sources_for "$pkg")
  local old=
  if [ -f "$pkg/translations/messages.pot" ]; then
    old=$(mktemp)
    cp "$pkg/translations/messages.pot" "$old"
  fi
  "$PYBABEL" -q extract -F "$MAPPING" -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k ngettext:1,2 -k lazy_ngettext:1,2 -k Nn_:1,2 --no-location --sort-output \
    --project "village-eline-$pkg" --copyright-holder "Village e-Line" \
    -o "$pkg/translations/messages.pot" "${srcs[@]}"
  if [ -f "$pkg/translations/dynamic.pot" ]; then
    "$BIN/python" - "$pkg/translations/messages.pot" "$pkg/translations/dynamic.pot" <<'PY'
import sys
from babel.messages.pofile import read_po, write_po
pot_path, dynamic_path = sys.argv[1:3]
with open(pot_path, "rb") as f:
    pot = read_po(f)
with open(dynamic_path, "rb") as f:
    dynamic = read_po(f)
for message in dynamic:
    if message.id and pot.get(message.id, context=message.context) is None:
        pot.add(message.id, context=message.context, auto_comments=message.auto_comments, flags=message.flags)
with open(pot_path, "wb") as f:
    write_po(f, pot, width=76, sort_output=True, omit_header=False)
PY
  fi
  # nothing but the date changed: keep the old file, so an unchanged catalogue makes no diff
  if [ -n "$old" ]; then
    if cmp -s <(grep -v '^"POT-Creation-Date:' "$old") <(grep -v '^"POT-Creation-Date:' "$pkg/translations/messages.pot"); then
      cp "$old" "$pkg/translations/messages.pot"
    fi
    rm -f "$old"
  fi
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
