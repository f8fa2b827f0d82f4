#!/usr/bin/env bash
# Rebuild every shipped model in pretrained/ (the recipes listed in the README).
# Usage: DENOISER_MNIST=path/to/mnist.npz bash scripts/train_pretrained.sh [name ...]
# Times on a 2-core CPU: blind ~40 + ~25 + ~25 + ~20 + ~21 + ~87 + ~93 min, conv ~6 min, dense ~3-4 min each.
# Two steps ran on one borrowed NVIDIA H200 GPU (Keras's JAX backend): blind's last cycle (150 s
# there) and the specialist (450 s there; about a day on this CPU, where the width-40 model took
# ~400 s an epoch). They ran with a time budget (--minutes); GPU=1 repeats that, and without it
# they run the same number of epochs, the cosine schedule then annealing over steps, not seconds.
set -euo pipefail
: "${DENOISER_MNIST:?set DENOISER_MNIST to a Keras-layout mnist.npz (the full 60k training split)}"
want() { [ $# -eq 0 ] || [[ " ${ONLY} " == *" $1 "* ]]; }
ONLY="$*"
T="python -m denoiser train --val-split 0.05 --seed 0"
budget() { if [ "${GPU:-0}" = 1 ]; then echo "--minutes $1"; else echo "--epochs $2"; fi; }  # minutes epochs
# The width-24 U-Net with whole-digit context, as blind's 3rd to 7th cycles use it.
C="--arch unet --filters 24 --context 128 --batch-size 128 --cosine"
D="U-Net (width 24) with whole-digit context, trained on blind noise: a random kind (all five) and amount 0–1 for every digit. The default: one model for any noise."

if [ -z "$ONLY" ] || want blind; then
$T --name blind --default --arch unet --filters 24 --noise blind --epochs 30 --batch-size 128 --cosine \
   --description "U-Net (width 24) trained on blind noise: a random kind (all five) and amount 0–1 for every digit. The default: one model for any noise."
# A second cosine cycle (warm restart) from those weights.
$T --name blind --default --init blind --arch unet --filters 24 --noise blind --epochs 20 --batch-size 128 --lr 5e-4 --cosine \
   --description "U-Net (width 24) trained on blind noise: a random kind (all five) and amount 0–1 for every digit, 30 + 20 epochs. The default: one model for any noise."
# Grown with whole-digit context (docs/unet-search.md): the new layers start as an identity,
# so training goes on from the model above; then one more cosine cycle on other noise draws.
$T --name blind --default --init blind $C --noise blind --epochs 24 --lr 5e-4 \
   --description "$D"
$T --name blind --default --init blind $C --noise blind --epochs 20 --lr 3e-4 --seed 1 \
   --description "$D"
# A 5th cycle on fresh draws (--seed 3): +0.04 dB (21.20 -> 21.25 on the 10k test digits).
$T --name blind --default --init blind $C --noise blind --epochs 18 --lr 3e-4 --seed 3 \
   --description "$D"
# A long 6th cycle in mixed precision (bfloat16 compute, float32 weights; ~1.5x faster on this
# AVX-512 BF16 CPU, benchmarks/bench_train_precision.py): +0.20 dB (21.25 -> 21.45).
$T --name blind --default --init blind $C --noise blind --epochs 130 --lr 5e-4 --seed 4 --mixed-precision \
   --description "$D"
# A 7th long cycle on fresh draws (--seed 6), 140 epochs, 93 min: +0.08 dB (21.45 -> 21.53).
$T --name blind --default --init blind $C --noise blind --epochs 140 --lr 5e-4 --seed 6 --mixed-precision \
   --description "$D"
# Grown (models.grow: it starts as the model above) to width 32, two residual blocks per scale and
# the clip-flag maps, then one cycle at batch 256 on the GPU (31 epochs, --seed 301): +0.08 dB
# (21.53 -> 21.60 at Gaussian 0.5, noise seed 1234).
$T --name blind --default --init blind --arch unet --filters 32 --context 128 --blocks 2 --clip-flags \
   --noise blind --batch-size 256 --lr 5e-4 --cosine $(budget 2.5 31) --seed 301 --mixed-precision \
   --description "U-Net (width 32, two residual blocks per scale, whole-digit context, maps of the pixels clipped to exactly 0 or 1) trained on blind noise: a random kind (all five) and amount 0–1 for every digit. The default: one model for any noise."
fi
# The specialist, trained from scratch in one run (153 epochs on the GPU, --seed 201). It replaced a
# specialist grown step by step from blind on this CPU (21.93 dB; every step is in
# docs/specialist-22db.md): 22.03 dB at Gaussian 0.5 (noise seed 0).
if [ -z "$ONLY" ] || want unet-gaussian; then
$T --name unet-gaussian --arch unet --filters 48 --context 128 --blocks 3 --clip-flags --loss psnr \
   --noise gaussian --amount 0.5 --batch-size 256 --lr 1e-3 --cosine $(budget 7.5 153) --seed 201 --mixed-precision \
   --description "Specialist for the tutorial's noise: a U-Net (width 48, three residual blocks per scale, whole-digit context, maps of the pixels the noise clipped to exactly 0 or 1) trained from scratch on Gaussian noise at 0.5 with minus each digit's PSNR as the loss, 153 epochs on a GPU. Trained in one run, it beats the same design grown step by step on this CPU (21.93 dB), see docs/specialist-22db.md."
fi
if [ -z "$ONLY" ] || want conv; then
$T --name conv --arch conv --filters 32 --noise gaussian --amount 0.5 --epochs 20 --batch-size 128 \
   --description "Convolutional autoencoder after the keras-io denoising example (28→14→7→14→28, 32 filters), Gaussian 0.5."
fi
if [ -z "$ONLY" ] || want dense-best; then
# Chosen by scripts/research/dense_search.py (docs/dense-search.md): the best of 8 shapes at 10 epochs.
$T --name dense-best --arch dense --code-size 128 --layers 3 --nodes 1024 --loss binary_crossentropy --noise gaussian --amount 0.5 --epochs 40 --cosine \
   --description "The best dense autoencoder found with the tutorial's four knobs (see docs/dense-search.md): 784→1024→512→128→512→1024→784, BCE, Adam, Gaussian 0.5."
fi
if [ -z "$ONLY" ] || want seed-dense; then
$T --name seed-dense --arch dense --code-size 32 --layers 1 --loss binary_crossentropy --optimizer adam --lr 1e-3 --noise gaussian --amount 0.5 --epochs 100 \
   --description "The tutorial's exact autoencoder (784→32→784, ReLU code, sigmoid output, BCE) trained with Adam, 100 epochs. The tutorial's own optimizer fails under Keras 3: 'adadelta' there means learning rate 0.001 (Adadelta's original rate is 1.0), and measured here that recipe reaches only 11.5 dB PSNR after 100 epochs at Gaussian 0.5 — worse than a 3×3 median filter (14.2 dB); this Adam-trained copy reaches 17.4 dB."
fi
