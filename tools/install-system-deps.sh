#!/usr/bin/env sh
# Install the system packages the test suite and the demo need (ffmpeg for test videos, Dovecot for
# the IMAP tests, zip/7z for archive fixtures, LibreOffice Calc and a Chinese font for 汇总表.pdf and
# the digest chart, Chromium and its driver for the web desk's browser tests), when they are
# missing and we may: as root with apt-get.
# Otherwise print what is missing; tests that need a missing server skip (and fail when CI=true).
# `sh tools/install-system-deps.sh fonts` (what `make demo` runs) looks only for a Chinese font.
set -eu
need=""
if [ "${1:-}" != fonts ]; then
command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg"
command -v ffprobe >/dev/null 2>&1 || need="$need ffmpeg"
command -v dovecot >/dev/null 2>&1 || need="$need dovecot-imapd"
[ -x /usr/lib/dovecot/dovecot-lda ] || need="$need dovecot-core"
command -v 7z >/dev/null 2>&1 || need="$need p7zip-full"
command -v zip >/dev/null 2>&1 || need="$need zip"
[ -x /usr/bin/time ] || need="$need time"  # bench/: peak RSS via /usr/bin/time -v
command -v soffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
# 汇总表.pdf: LibreOffice Calc converts the .xlsx (Writer alone cannot load it).
ls /usr/lib/libreoffice/program/libsclo.so >/dev/null 2>&1 || need="$need libreoffice-calc-nogui"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"  # tests look at the rendered PDF
[ -x /usr/bin/chromium ] || need="$need chromium"  # tests/test_web_desk.py: a real browser
[ -x /usr/bin/chromedriver ] || need="$need chromium-driver"
fi
# A Chinese font (OFL/GPL-with-font-exception): digest chart labels, 汇总表.pdf; a fresh Debian has none.
fc-list :lang=zh 2>/dev/null | grep -q . || need="$need fonts-wqy-zenhei fontconfig"
[ -z "$need" ] && exit 0
need=$(echo $need | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "missing system packages (install them as root):$need" >&2
fi
