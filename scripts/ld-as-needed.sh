#!/usr/bin/env bash
# The linker of the photoseal executable (Package.swift passes it as -ld-path): gold, as the
# Swift driver would run it, with --as-needed first, so that libbson, libmongoc, libpq and
# libcurl, reached only through CLazyLibs' trampolines, are not loaded at exec.
#
# One line of its output is dropped: glibc's link-time notice that the toolchain's static
# Foundation (linked into release builds) calls mktemp (FoundationEssentials' createTemporaryFile
# uses it only to pick a name, then opens with O_EXCL). It is not about photoseal's code, and
# every release build would show it. Every other message passes through.
{ "${PHOTOSEAL_LD:-ld.gold}" --as-needed "$@" 2>&1 >&3 3>&- \
  | grep -v "warning: the use of \`mktemp' is dangerous" >&2 3>&-; } 3>&1
exit "${PIPESTATUS[0]}"
