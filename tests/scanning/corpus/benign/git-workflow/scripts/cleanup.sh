#!/usr/bin/env bash
set -euo pipefail
git fetch --prune
git branch --merged main | grep -v '^\*\|main' | xargs -r git branch -d
