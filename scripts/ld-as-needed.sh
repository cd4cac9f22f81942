#!/bin/sh
# The linker of the photoseal executable (Package.swift passes it as -ld-path): gold, as the
# Swift driver would run it, with --as-needed first, so that libbson, libmongoc, libpq and
# libcurl, reached only through CLazyLibs' trampolines, are not loaded at exec.
exec "${PHOTOSEAL_LD:-ld.gold}" --as-needed "$@"
