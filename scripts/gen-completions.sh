#!/usr/bin/env bash
# Writes the shell completion scripts ArgumentParser generates for photoseal into completions/:
# photoseal.bash (bash), _photoseal (zsh) and photoseal.fish (fish). Run it after changing any
# command or option; a test (CompletionHelpCLITests) fails while the shipped files are stale.
#
# Usage: scripts/gen-completions.sh [path/to/photoseal]   (default: builds and uses .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
binary="${1:-}"
if [ -z "$binary" ]; then
  swift build --product photoseal >&2
  binary="$(swift build --show-bin-path)/photoseal"
fi
mkdir -p completions
"$binary" --generate-completion-script bash >completions/photoseal.bash
"$binary" --generate-completion-script zsh >completions/_photoseal
"$binary" --generate-completion-script fish >completions/photoseal.fish
echo "gen-completions: wrote completions/photoseal.bash, completions/_photoseal, completions/photoseal.fish" >&2
