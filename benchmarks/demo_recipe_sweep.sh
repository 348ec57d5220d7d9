#!/usr/bin/env bash
# Demo recipe variants side by side: each `lut pretrain demo OVERRIDES` on its own cores, at once.
#
#   bash benchmarks/demo_recipe_sweep.sh CORES_PER_RUN "OVERRIDES A" "OVERRIDES B" ...
#
# Run I is pinned to cores FIRST_CORE + [I*CORES_PER_RUN, (I+1)*CORES_PER_RUN) (FIRST_CORE defaults to 0) with as
# many threads, where taskset exists; its output folder is
# $OUT/sweep/run-I (./sweep/run-I when OUT is unset), its log beside it. The k-NN rise of each run is printed as a
# markdown table at the end by demo_sweep_table.py (student at step 0 -> end, teacher, wall-clock), which also
# reads runs that were stopped part-way. Needs Fashion-MNIST
# (LUT_FASHION_MNIST_DIR or the Debian package) and a machine with that many cores.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30
cores=$1
shift
folder="${OUT:-.}/sweep"
mkdir -p "$folder"

# run_one RUN CORES OVERRIDES: one pre-training, its wall-clock seconds written to RUN.seconds when it ends.
run_one() {
    local run=$1 pinned=$2 started=$SECONDS
    shift 2
    local pin=()
    command -v taskset > /dev/null && pin=(taskset -c "$pinned")
    OMP_NUM_THREADS=$cores "${pin[@]}" "$PYTHON" -m lut.cli pretrain demo "$@" output_dir="$run" num_visualize=0 \
        > "$run.log" 2>&1
    echo "$((SECONDS - started))" > "$run.seconds"
}

index=0
for overrides in "$@"; do
    first=$((${FIRST_CORE:-0} + index * cores))
    echo "run-$index: cores $first-$((first + cores - 1)): lut pretrain demo $overrides"
    # shellcheck disable=SC2086  # the overrides are words
    run_one "$folder/run-$index" "$first-$((first + cores - 1))" $overrides &
    index=$((index + 1))
done
wait

"$PYTHON" benchmarks/demo_sweep_table.py "$folder" "$@"
