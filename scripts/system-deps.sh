#!/usr/bin/env bash
# Install the system packages the project needs, where they are missing.
#   scripts/system-deps.sh run   - what the running system needs (PDF rendering, CJK font)
#   scripts/system-deps.sh test  - plus what the test suite needs (Chromium, pdftotext)
# On Debian/Ubuntu it uses apt-get (as root, or through sudo). Elsewhere it says what is
# missing and how to get it, and fails for `test` (the suite cannot run without them).
set -euo pipefail
purpose="${1:-run}"

# command-to-check : Debian package
needs=("wkhtmltopdf:wkhtmltopdf" "fc-list:fontconfig")
font_package="fonts-wqy-microhei"
if [ "$purpose" = "test" ]; then
  needs+=("chromium:chromium" "pdftotext:poppler-utils")
fi

missing=()
for pair in "${needs[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if ! { command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei"; }; then
  missing+=("$font_package")
fi
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=("python3-venv")

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "System packages missing: ${missing[*]}"
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "Run as root or install sudo, then: apt-get install ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "Installing with apt-get (Debian packages) ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "Installed: ${missing[*]}"
  exit 0
fi

cat >&2 <<MSG
This is not a Debian-like system (no apt-get), so these cannot be installed automatically:
  ${missing[*]}
Install the equivalents with your package manager:
  wkhtmltopdf           https://wkhtmltopdf.org (the 0.12.6 build of your distribution)
  a CJK font            WenQuanYi Micro Hei (fonts-wqy-microhei) or Noto Sans CJK SC
  chromium              for the browser tests (Chromium or Chrome; set CHROMIUM_PATH)
  poppler-utils         for pdftotext in the tests
  python3-venv          Python's venv module (Python 3.11 or newer)
MSG
if [ "$purpose" = "test" ]; then exit 1; fi
echo "Continuing: the site runs, but PDF features need wkhtmltopdf and the CJK font." >&2
