#!/usr/bin/env bash
# Seeds the fuzz corpora from the examples, the standard library, the
# diagnostic fixtures and the contract v2 syntax fixtures (groups, `finally`,
# group templates, calls in `when`, the new keywords). Run from the
# repository root, then e.g.:
#   cargo +nightly fuzz run check -- -max_total_time=300 -dict=fuzz/mlp.dict
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for target in parse check compile fmt; do
  mkdir -p "fuzz/corpus/$target"
  for f in examples/*.mlp examples/lib/*.mlp stdlib/*.mlp tests/fixtures/*.mlp tests/fixtures/diagnostics/*.mlp \
           tests/fixtures/syntax_v2/*.mlp; do
    cp "$f" "fuzz/corpus/$target/$(echo "$f" | tr '/' '_')"
  done
done
mkdir -p fuzz/corpus/structured
