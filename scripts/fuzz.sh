#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for a bounded time with libFuzzer through
# cargo-fuzz, starting from the committed corpus (fuzz/corpus/<target>/, seeds written by
# scripts/fuzz_seeds.py), and fails on any crash (a panic is a crash). Prints executions per
# target. cargo-fuzz wants nightly flags; stable rustc accepts them with RUSTC_BOOTSTRAP=1.
#   FUZZ_SECONDS=20 bash scripts/fuzz.sh          # per target (default 20)
#   FUZZ_KEEP=1 bash scripts/fuzz.sh              # keep new corpus entries in fuzz/corpus
# The fuzz build (release, coverage instrumented, no sanitizer: the code is safe Rust, the
# faults sought are panics and hangs) is cached in ~/.cache/kube-verdict/fuzz-target: about
# 7 minutes the first time on 2 cores, about a minute after a change to the crate.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECONDS:-20}"
TARGETS=(build_log event_message image_reference dump_document report_body build_command registry_answer)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --version 0.13.2 >&2
fi
export CARGO_TARGET_DIR="${KUBE_VERDICT_FUZZ_TARGET:-$HOME/.cache/kube-verdict/fuzz-target}"
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none --fuzz-dir fuzz >&2
failed=0
for t in "${TARGETS[@]}"; do
  work="$(mktemp -d)"
  log="$(mktemp)"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # New inputs go to the first directory (a temporary one unless FUZZ_KEEP=1).
  first="$work"
  [ "${FUZZ_KEEP:-}" = 1 ] && first="fuzz/corpus/$t"
  if cargo fuzz run -s none --fuzz-dir fuzz "$t" "$first" "fuzz/corpus/$t" -- \
      -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    failed=1
    tail -40 "$log" >&2
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  corpus="$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')"
  echo "fuzz: $t: $result, $execs executions in ${SECS}s, corpus $corpus inputs"
  rm -rf "$work" "$log"
done
exit "$failed"
