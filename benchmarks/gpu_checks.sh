#!/usr/bin/env bash
# #19's checks (and #20's GPU latency check) for a lent GPU, in one bounded run (the device tool's `run`, from the repository root; it copies
# $OUT back). Each step stops itself before the tool's 10-minute limit and resumes when the script is run again
# with the same $OUT kept (it is not kept between calls: copy the folders back and commit them).
#   1. hybrid_cifar ground truth at a longer fidelity than the CPU's: the 20 subnets x 2 seeds from scratch on all
#      50,000 CIFAR-10 training images (packed to 32 px first), 10 epochs, bf16, 8 side by side, test accuracy
#      after every epoch; seed-to-seed tau and the training-free rankings against it (hybrid_cifar_truth.py).
#      The CPU truth (results/benchmarks/hybrid_cifar_truth_cpu_50k) is the same recipe at 3 epochs; the 5k
#      subset's 30 epochs did not make two seeds agree (tau 0.105), so it is not used here.
#   2. the NAS-Bench-201 benchmark-skeleton supernet (uniform) trained on all 50,000 CIFAR-10 images, then
#      scored on 200 networks (benchmarks/supernet/supernet_ranking_nb201.py) -- only if time is left after step 1.
#   3. #20: a torch CUDA latency table at batch 64 (not launch-bound), validated on 100 networks
#      (benchmarks/latency/latency_validation.py) -- 150 s at most.
# SMOKE=1 runs all three at toy size on the CPU (a check of the script, not a measurement).
set -euo pipefail
OUT=${OUT:-results/gpu_session_19}
SHARED=${SHARED:-../shared}
WORK=${WORK:-/tmp/gpu_session_19}  # the packed images and per-epoch checkpoints: large, so not under $OUT
mkdir -p "$OUT" "$WORK"
if [ "${SMOKE:-0}" = 1 ]; then
  DEV=cpu; PREC=fp32; SUBNETS=3; EPOCHS=1; LIMIT="--train-limit 64"; JOBS=2; NB_EPOCHS=1; NETS=4; TRUTH_S=120; LAT_BATCH=2; LAT_N=4
  TRUTH_DATA="npz:$SHARED/data/cifar10_subset.npz"
  NB_DATA="npz:$SHARED/data/cifar10_subset.npz --skeleton 8,1"
else
  DEV=cuda; PREC=bf16; SUBNETS=20; EPOCHS=10; LIMIT=""; JOBS=8; NB_EPOCHS=30; NETS=200; TRUTH_S=300; LAT_BATCH=64; LAT_N=100
  TRUTH_DATA="npz:$WORK/cifar10_jpeg_32.npz"
  [ -f "$WORK/cifar10_jpeg_32.npz" ] || hybridnas data pack "imagefolder:$SHARED/data/cifar10_jpeg" "$WORK/cifar10_jpeg_32.npz" --size 32
  NB_DATA="imagefolder:$SHARED/data/cifar10_jpeg"
fi
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/device.txt" 2>/dev/null || echo "no GPU" > "$OUT/device.txt"
date -u >> "$OUT/device.txt"
python -m benchmarks.supernet.hybrid_cifar_truth --out "$OUT/hybrid_cifar_truth" --subnets $SUBNETS --seeds 0,1 \
  --epochs $EPOCHS $LIMIT --device $DEV --precision $PREC --jobs $JOBS --data-workers 0 --time-limit $TRUTH_S \
  --warmup-epochs 0.1 --curves --checkpoints "$WORK/checkpoints" \
  --data "$TRUTH_DATA" --proxy-data "$SHARED/data/cifar10_subset.npz" \
  2>&1 | tee "$OUT/hybrid_cifar_truth.log"
timeout 240 python -m benchmarks.supernet.supernet_ranking_nb201 train --samplers uniform --epochs $NB_EPOCHS \
  --device $DEV --precision $PREC --data $NB_DATA --out "$OUT/nb201" \
  2>&1 | tee "$OUT/nb201_train.log" || echo "supernet training stopped by its time limit; rerun to resume"
if [ -f "$OUT/nb201/supernet_uniform/checkpoint.pt" ]; then
  timeout 120 python -m benchmarks.supernet.supernet_ranking_nb201 score --samplers uniform --networks $NETS \
    --test-limit 2000 --out "$OUT/nb201" 2>&1 | tee "$OUT/nb201_score.log" || echo "scoring stopped; rerun"
fi
timeout 150 python -m benchmarks.latency.latency_validation --space hybrid_cifar --n $LAT_N --device $DEV --batch $LAT_BATCH \
  --out "$OUT/latency_b$LAT_BATCH" 2>&1 | tee "$OUT/latency.log" || echo "latency validation stopped; rerun to resume"
