#!/usr/bin/env bash
# Installs what photoseal needs to build and test on a fresh Debian machine: the C libraries
# (with their -dev headers), the PostgreSQL server (scripts/pg-test-server.sh runs it), exiftool
# and zip (download tests check stripped images and build zips with them), GNU time (tests read a
# command's peak memory), libjpeg-turbo (thumbnails) and Leaflet with its marker-cluster plugin
# (the gallery's map, served by `photoseal serve` from /usr/share/javascript), Chromium and its
# driver (the gallery's browser test; Selenium goes in .venv-browser, made by
# scripts/browser-test.sh), tmux (the progress display is tested in a real pseudo-terminal),
# curl (the request form is posted over HTTP by the CLI tests), Python `cryptography`, the
# reference Fernet the tests compare to, and Pillow; libzstd (the Parquet writer's page
# compression); jemalloc (the executable's malloc); Slurm's controller, node daemon and clients
# with munge (scripts/slurm-test-server.sh runs a one-node cluster for the job-array test of
# deploy/slurm; the packages' services are never started).
set -euo pipefail
packages=(
  libcurl4-openssl-dev libmongoc-dev libbson-dev libssl-dev libsqlite3-dev libxml2-dev pkg-config
  libpq-dev postgresql
  libturbojpeg0-dev libzstd-dev libjemalloc-dev libjs-leaflet libjs-leaflet.markercluster chromium chromium-driver
  libimage-exiftool-perl zip time
  tmux curl
  slurmctld slurmd slurm-client munge
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
if ! python3 -c 'import yaml' 2>/dev/null; then
  # PyYAML parses deploy/k8s's Job in its test (a structure check, not a text search).
  echo "installing Python PyYAML" >&2
  python3 -m pip install --quiet pyyaml
fi
# moto's S3 server (PyPI moto[server], with boto3/botocore for reference signatures) in its own
# venv: the S3 tests run against it (scripts/moto-server.sh).
"$(dirname "$0")/moto-server.sh" install
# aiosmtpd (PyPI) in its own venv: the mail tests send through it (scripts/smtp-test-server.sh).
"$(dirname "$0")/smtp-test-server.sh" install
# pyarrow and DuckDB (PyPI) in their own venv: the Parquet tests and scripts/bench-parquet.sh read
# photoseal's Parquet files with both (scripts/parquet_check.py; PHOTOSEAL_PARQUET_VENV, default
# .venv-parquet).
parquet_venv="${PHOTOSEAL_PARQUET_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv-parquet}"
if ! "$parquet_venv/bin/python" -c 'import pyarrow, duckdb' 2>/dev/null; then
  python313="${PHOTOSEAL_PYTHON313:-/root/.pyenv/versions/3.13.0/bin/python3}"
  echo "installing pyarrow and duckdb into $parquet_venv" >&2
  "$python313" -m venv "$parquet_venv" >&2
  "$parquet_venv/bin/pip" install --quiet --disable-pip-version-check 'pyarrow==26.0.1' 'duckdb==2.0.1' >&2
fi
