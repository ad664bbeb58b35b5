#!/usr/bin/env bash
# Runs every experiment of docs/guide.md on full MNIST and prints the
# results table in Markdown. Usage: scripts/guide.sh [NAME...] (default: all).
# Each run's directory is kept under runs/guide/NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o runs/guide/mnist ./cmd/mnist

# name | flags
experiments=(
  "default|"
  "lr-1e-2|-lr 1e-2"
  "lr-1e-4|-lr 1e-4"
  "lr-3e-3-10ep|-lr 3e-3 -epochs 10"
  "batch-decay|-schedule step -schedule-every batch -step-size 100 -gamma 0.98 -epochs 10"
  "exp-decay|-schedule exponential -gamma 0.8 -epochs 10"
  "cosine-warmup|-schedule cosine -warmup 1 -epochs 10"
  "warm-restarts|-schedule warm-restarts -t0 2 -t-mult 2 -epochs 14"
  "one-cycle|-schedule one-cycle -max-lr 5e-3 -epochs 10"
  "plateau-early-stop|-plateau -plateau-patience 1 -plateau-factor 0.2 -early-stop 4 -restore-best -epochs 30"
  "beta1-0.5|-beta1 0.5"
  "beta1-0.99|-beta1 0.99"
  "beta2-0.99|-beta2 0.99"
  "eps-1e-3|-eps 1e-3"
  "eps-keras|-eps 1e-7 -eps-convention keras"
  "amsgrad|-amsgrad"
  "l2-1e-4|-weight-decay 1e-4 -epochs 10"
  "adamw-1e-2|-weight-decay 1e-2 -weight-decay-mode decoupled -no-decay-biases -epochs 10"
  "batch-32|-batch-size 32"
  "batch-256|-batch-size 256"
  "batch-256-lr-4e-3|-batch-size 256 -lr 4e-3"
  "dropout-0.2-h512|-hidden 512 -dropout 0.2 -epochs 10"
  "augment|-rotate 10 -shift 2 -epochs 10"
  "best-mlp|-hidden 1024 -dropout 0.3 -schedule cosine -warmup 1 -weight-decay 1e-2 -weight-decay-mode decoupled -no-decay-biases -epochs 20"
  "cnn|-model cnn -epochs 3"
  "best-cnn|-model cnn -schedule cosine -rotate 8 -shift 2 -epochs 8"
)
want=("$@")
echo "| experiment | flags | epochs run | best val_loss | test accuracy | test loss | seconds |"
echo "|---|---|---|---|---|---|---|"
for e in "${experiments[@]}"; do
  name=${e%%|*}; flags=${e#*|}
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  out=runs/guide/$name
  rm -rf "$out"
  # shellcheck disable=SC2086
  runs/guide/mnist train -progress none -out "$out" $flags > "$out.log" 2> "$out.err" || { echo "| $name | \`$flags\` | failed: $(tail -1 "$out.err") |||||"; continue; }
  epochs=$(grep -c '^epoch=' "$out.log")
  best=$(grep '^epoch=' "$out.log" | sed -n 's/.*val_loss=\([^ ]*\).*/\1/p' | sort -g | head -1)
  final=$(grep '^test_loss=' "$out.log")
  acc=$(sed -n 's/.*test_accuracy=\([^ ]*\).*/\1/p' <<< "$final")
  loss=$(sed -n 's/.*test_loss=\([^ ]*\).*/\1/p' <<< "$final")
  secs=$(sed -n 's/.*seconds=\([^ ]*\).*/\1/p' <<< "$final")
  echo "| $name | \`${flags:-(defaults)}\` | $epochs | $best | $acc | $loss | $secs |"
done
