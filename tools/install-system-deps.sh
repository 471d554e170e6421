#!/usr/bin/env sh
# Install the system packages the test suite needs (ffmpeg for test videos, Dovecot for the IMAP
# tests, zip/7z for archive fixtures, Chromium and its driver for the web desk's browser tests), when they are missing and we may: as root with apt-get.
# Otherwise print what is missing; tests that need a missing server skip (and fail when CI=true).
set -eu
need=""
command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg"
command -v ffprobe >/dev/null 2>&1 || need="$need ffmpeg"
command -v dovecot >/dev/null 2>&1 || need="$need dovecot-imapd"
[ -x /usr/lib/dovecot/dovecot-lda ] || need="$need dovecot-core"
command -v 7z >/dev/null 2>&1 || need="$need p7zip-full"
command -v zip >/dev/null 2>&1 || need="$need zip"
[ -x /usr/bin/time ] || need="$need time"  # bench/: peak RSS via /usr/bin/time -v
command -v soffice >/dev/null 2>&1 || need="$need libreoffice-writer-nogui"
[ -x /usr/bin/chromium ] || need="$need chromium"  # tests/test_web_desk.py: a real browser
[ -x /usr/bin/chromedriver ] || need="$need chromium-driver"
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
