# Shared by the benchmark scripts: their work folder, the servers they start, the binary they
# measure. Sourced from the repository's root after `repo` is set.

# bench_work NAME [PARENT]: makes the work folder `work` (NAME.XXXXXX under PARENT, default
# $BENCH_TMPDIR, else the repository's .build: on disk, not a tmpfs /tmp) and an empty `pids`
# array; on exit the processes in `pids` are killed and the folder is removed.
bench_work() {
    local parent="${2:-${BENCH_TMPDIR:-$repo/.build}}"
    mkdir -p "$parent"
    work="$(mktemp -d -p "$parent" "$1.XXXXXX")"
    chmod 755 "$work"
    pids=()
    trap bench_cleanup EXIT
}

# A script with more to stop defines bench_extra_cleanup; it runs first.
bench_cleanup() {
    if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup; fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}

# bench_photoseal: sets `ps` to the binary measured: $PHOTOSEAL_BIN, else a release build made
# now.
bench_photoseal() {
    if [[ -z "${PHOTOSEAL_BIN:-}" ]]; then swift build -c release --product photoseal >&2; fi
    ps="${PHOTOSEAL_BIN:-.build/release/photoseal}"
}
