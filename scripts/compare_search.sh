#!/usr/bin/env bash
# Measures search strategies against each other on an MNIST subset with the
# same budget in epochs: random search, TPE, Hyperband, TPE with median
# stopping, multivariate TPE and BOHB, several search seeds each, every search spending BUDGET epochs
# of 1-3-epoch trials. Writes docs/images/search-comparison.png and the
# table of docs/tuning.md's comparison section (scripts/comparesearch).
#
# Usage: scripts/compare_search.sh
# Environment: SEEDS (default "1 2 3 4 5"), TRIALS (random and TPE trials,
# default 22: the budget is 3·TRIALS epochs), RUNS (run directories), DOC
# and PNG (outputs; DOC=- prints the table only).
# One search at a time, one thread each, so that it shares a machine
# politely; about twelve minutes on a 2-core machine. A search whose
# directory is complete is resumed, so nothing of it runs again: empty RUNS to
# measure from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/compare-search}
SEEDS=${SEEDS:-"1 2 3 4 5"}
TRIALS=${TRIALS:-22}
BUDGET=$((3 * TRIALS))     # epochs per search: TRIALS random trials of 3 epochs
ROUNDS=$((BUDGET / 11))    # a Hyperband (1, 3, 3) table spends 11 epochs
DOC=${DOC:-docs/tuning.md}
PNG=${PNG:-docs/images/search-comparison.png}
mkdir -p "$RUNS"
go build -o "$RUNS/mnist" ./cmd/mnist

common=(-space 'lr=log:1e-5:1e-1,beta1=0.5|0.8|0.9|0.95|0.99,batch-size=int:16:512,dropout=uniform:0:0.6'
  -train-limit 10000 -test-limit 1000 -val-fraction 0.2 -epochs 3 -threads 1 -workers 1 -plots=false)

# name | flags; each spends at most BUDGET epochs (TPE+median may start
# more trials than fit: the replay stops counting at BUDGET).
searches=(
  "random|-strategy random -trials $TRIALS"
  "tpe|-strategy tpe -trials $TRIALS -tpe-startup 8"
  "hyperband|-strategy hyperband -min-epochs 1 -eta 3 -rounds $ROUNDS"
  "tpe-median|-strategy tpe -trials $((TRIALS * 2)) -tpe-startup 8 -pruner median -pruner-warmup 0 -pruner-min-trials 3"
  "tpe-multivariate|-strategy tpe -trials $TRIALS -tpe-startup 8 -tpe-multivariate"
  "bohb|-strategy bohb -min-epochs 1 -eta 3 -rounds $ROUNDS"
)
dirs=()
start=$(date +%s)
for seed in $SEEDS; do
  for s in "${searches[@]}"; do
    name=${s%%|*}
    read -r -a flags <<<"${s#*|}"
    dir="$RUNS/$name-$seed"
    echo "== $name seed $seed" >&2
    "$RUNS/mnist" tune "${common[@]}" "${flags[@]}" -search-seed "$seed" -out "$dir" >"$dir.log" 2>&1 || {
      cat "$dir.log" >&2
      exit 1
    }
    dirs+=("$dir")
  done
done
elapsed=$(($(date +%s) - start))
doc=(-doc "$DOC")
[ "$DOC" = - ] && doc=()
go run ./scripts/comparesearch -budget "$BUDGET" -png "$PNG" "${doc[@]}" \
  -caption "Measured by \`scripts/compare_search.sh\` (seeds $SEEDS; ${elapsed} s in all on $(nproc) cores shared with other work)." \
  "${dirs[@]}"
