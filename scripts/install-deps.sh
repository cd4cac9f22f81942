#!/usr/bin/env bash
# Installs what photoseal needs to build and test on a fresh Debian machine: the C libraries
# (with their -dev headers), the PostgreSQL server (scripts/pg-test-server.sh runs it), exiftool
# and zip (download tests check stripped images and build zips with them), GNU time (tests read a
# command's peak memory), libjpeg-turbo (thumbnails) and Leaflet with its marker-cluster plugin
# (the gallery's map, served by `photoseal serve` from /usr/share/javascript), Chromium and its
# driver (the gallery's browser test; Selenium goes in .venv-browser, made by
# scripts/browser-test.sh), tmux (the progress display is tested in a real pseudo-terminal),
# curl (the request form is posted over HTTP by the CLI tests), Python `cryptography`, the
# reference Fernet the tests compare to, and Pillow.
set -euo pipefail
packages=(
  libcurl4-openssl-dev libmongoc-dev libbson-dev libssl-dev libsqlite3-dev libxml2-dev pkg-config
  libpq-dev postgresql
  libturbojpeg0-dev libjs-leaflet libjs-leaflet.markercluster chromium chromium-driver
  libimage-exiftool-perl zip time
  tmux curl
)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import cryptography.fernet' 2>/dev/null; then
  echo "installing Python cryptography" >&2
  python3 -m pip install --quiet cryptography
fi
if ! python3 -c 'import PIL.Image' 2>/dev/null; then
  # Pillow decodes originals and stripped copies: the stripper tests compare their pixels.
  echo "installing Python Pillow" >&2
  python3 -m pip install --quiet pillow
fi
# moto's S3 server (PyPI moto[server], with boto3/botocore for reference signatures) in its own
# venv: the S3 tests run against it (scripts/moto-server.sh).
"$(dirname "$0")/moto-server.sh" install
# aiosmtpd (PyPI) in its own venv: the mail tests send through it (scripts/smtp-test-server.sh).
"$(dirname "$0")/smtp-test-server.sh" install
