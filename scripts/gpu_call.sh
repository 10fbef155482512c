#!/bin/bash
# One time-limited call on a GPU machine: an optional efficiency bench, then grid phases of a config, each cut
# to the time left, the rows packed into $OUT/rows.tgz at the end (even when a phase is cut short).
#
#   bash scripts/gpu_call.sh SHA LIMIT_S TAG [bench] -- PHASE_ARGS... [-- PHASE_ARGS...]
#   bash scripts/gpu_call.sh $(git rev-parse HEAD) 585 g7 -- --only dense,random,snip --tasks rte -- --tasks sst2
#
# SHA names the commit in the rows (the machine gets a copy of the tree without .git); LIMIT_S is the call's
# wall-clock limit; TAG names the scratch root /tmp/TAG. PHASE_ARGS go to scripts/run_grid.py (configs:
# $CONFIG, default config/v1-minilm.yaml; several, space-separated, share one queue). A run whose length this call's
# ended runs or HISTORY predict starts only if it is predicted to end before the limit (run_grid.py --limit), at any
# time; a run nothing times starts only until MARGIN seconds (default 200) before the limit (--deadline). `bench` times BENCH_MODEL (default minilm-l6, or e.g.
# shape:bert-base) at BENCH_BATCHES (default 1,32,128), with extra BENCH_ARGS, alone on GPU 0 for at most
# BENCH_LIMIT seconds, before any grid phase starts. WORKERS (default 8) runs share each GPU. HISTORY (e.g.
# results/v2/calls) gives run_grid earlier calls' queue logs, so a run no call has time for is not started. Needs the carry
# folder of scripts/make_carry.py in CARRY (default .carry; e.g. .carry-qqp, made ahead with make_carry.py --out).
# Carrying the weights in parts or not at all (make_carry.py --weights K/N or none) needs the calls on one warm
# machine: each call within the machine's idle time of the last. A later call there with the same TAG also skips the
# rows an earlier one made under /tmp/TAG (calls 22-23 continued call 21 so).
# Afterwards, here: unpack rows.tgz, copy TAG/results/<version>/... into results/<version>/ BEFORE the next call
# (run_grid skips only rows present in the checkout or under its --root), then `prunebench merge`.
set -u
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then sed -n 2,21p "$0"; exit 2; fi
SHA=$1 LIMIT=$2 TAG=$3; shift 3
ASKED=${CARRY:-.carry}
CARRY=$(cd "$ASKED" 2>/dev/null && pwd) || { echo "gpu_call: no carry folder $ASKED (make it with scripts/make_carry.py)"; exit 2; }
START=$SECONDS MARGIN=${MARGIN:-200} CONFIG=${CONFIG:-config/v1-minilm.yaml} OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
# the weights as make_carry.py --weights sent them: whole (rebuilt in /tmp), a part (kept in /tmp until the last part
# comes, on this warm machine; no grid phase before), or none (the model an earlier call left in /tmp)
MODEL_DIR=/tmp/minilm-l6
python scripts/carry_model.py install "$CARRY/minilm-l6" "$MODEL_DIR"
case $? in
  0) ;;
  3) echo "weights incomplete: no grid phase in this call"; exit 0 ;;
  *) exit 2 ;;
esac
export GLUE_DIR=$CARRY/glue HF_HUB_OFFLINE=1 PRUNEBENCH_MINILM_DIR=$MODEL_DIR \
       PRUNEBENCH_CACHE=$PWD/.pbcache PRUNEBENCH_GIT_COMMIT=$SHA TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=index,name,memory.used --format=csv,noheader
GPUS=${GPUS:-$(nvidia-smi -L | wc -l)}  # or set GPUS (with CUDA_VISIBLE_DEVICES) to use part of the machine
left() { echo $(( LIMIT - (SECONDS - START) - 45 )); }  # 45 s kept for packing the rows
if [ "${1:-}" = bench ]; then
  shift
  mkdir -p "$OUT/eff"
  CUDA_VISIBLE_DEVICES=0 timeout -s INT "${BENCH_LIMIT:-$(left)}" python -m prunebench.benchmarks.cli bench-efficiency --model "${BENCH_MODEL:-minilm-l6}" \
     --device cuda --repeats 30 --warmup 5 --batches "${BENCH_BATCHES:-1,32,128}" ${BENCH_ARGS:-} --out "$OUT/eff/efficiency.csv" > "$OUT/eff/log.txt" 2>&1
  echo "bench rc=$? after $((SECONDS - START)) s"; tail -3 "$OUT/eff/log.txt"
fi
: > "/tmp/$TAG-phase.log"  # one queue log for the call: each phase appends (call 13 lost its first phase's to the second)
while [ "${1:-}" = -- ]; do
  shift; ARGS=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do ARGS+=("$1"); shift; done
  L=$(left)
  if [ "$L" -le "$MARGIN" ]; then echo "phase ${ARGS[*]}: not started, $L s left (MARGIN $MARGIN)"; continue; fi
  echo "phase ${ARGS[*]} with $L s"
  # shellcheck disable=SC2086  # CONFIG may name several configs
  # --limit: after the first runs of a method end, a run of it starts only if it can end before the timeout
  # --started-at: the limits count from the timeout's start, not from run_grid's (22 s later in call 14: calls/call14-phase.log)
  timeout -s INT "$L" python scripts/run_grid.py $CONFIG --gpus "$GPUS" --workers "${WORKERS:-8}" --deadline $((L - MARGIN)) --limit $((L - 10)) \
     --started-at "$(date +%s)" ${HISTORY:+--history $HISTORY} --root "/tmp/$TAG" "${ARGS[@]}" >> "/tmp/$TAG-phase.log" 2>&1
  echo "rc=$? after $((SECONDS - START)) s"; tail -1 "/tmp/$TAG-phase.log"; grep "^FAIL" "/tmp/$TAG-phase.log" | head -5
done
[ -d "/tmp/$TAG" ] && tar czf "$OUT/rows.tgz" -C /tmp "$TAG/results" "$TAG/logs" 2>/dev/null
ls -la "$OUT"
