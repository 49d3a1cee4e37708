#!/usr/bin/env bash
# Builds and tests the VS Code extension: a clean install from package-lock.json,
# the TypeScript client, then the grammar tests (annotated test/*.test.mlp files
# and every example and stdlib file). CI runs `bash editors/vscode/test.sh`.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run compile
npm test
