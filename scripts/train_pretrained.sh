#!/usr/bin/env bash
# Rebuild every shipped model in pretrained/ (the recipes listed in the README).
# Usage: DENOISER_MNIST=path/to/mnist.npz bash scripts/train_pretrained.sh [name ...]
# Times on a 2-core CPU: blind ~40 + ~25 + ~25 + ~20 + ~21 + ~87 + ~93 min, unet-gaussian ~13 + ~135 + ~91 + ~92 + ~118 + ~116 + ~85 min, conv ~6 min, dense ~3-4 min each.
set -euo pipefail
: "${DENOISER_MNIST:?set DENOISER_MNIST to a Keras-layout mnist.npz (the full 60k training split)}"
want() { [ $# -eq 0 ] || [[ " ${ONLY} " == *" $1 "* ]]; }
ONLY="$*"
T="python -m denoiser train --val-split 0.05 --seed 0"
# The U-Net with whole-digit context, as blind (after its 2nd cycle) and the specialist use it.
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
fi
# The specialist starts from blind as it stands here (7 cycles).
if [ -z "$ONLY" ] || want unet-gaussian; then
$T --name unet-gaussian --init blind $C --noise gaussian --amount 0.5 --epochs 20 --lr 5e-4 --seed 5 --mixed-precision \
   --description "Specialist for the tutorial's noise: the blind U-Net fine-tuned on Gaussian noise at 0.5."
# Then widened from 24 to 40 filters (models.grow: it starts as the width-24 specialist) and trained
# 80 more epochs on fresh draws (--seed 8), ~135 min: +0.13 dB (21.75 -> 21.87).
$T --name unet-gaussian --init unet-gaussian --arch unet --filters 40 --context 128 --batch-size 128 --cosine \
   --noise gaussian --amount 0.5 --epochs 80 --lr 5e-4 --seed 8 --mixed-precision \
   --description "Specialist for the tutorial's noise: the blind U-Net fine-tuned on Gaussian noise at 0.5, then widened from 24 to 40 filters and trained on."
# Then deepened by one residual block after the bottleneck and after each decoder stage (models.grow:
# each block starts as the identity) and trained 22 epochs on minus each digit's PSNR (--loss psnr,
# --seed 21), 91 min: +0.03 dB (21.87 -> 21.90). (The shipped file came from a scratch script making
# this same train() call: same config, grow, seed, schedule and precision.)
$T --name unet-gaussian --init unet-gaussian --arch unet --filters 40 --context 128 --blocks 1 --loss psnr \
   --batch-size 128 --cosine --noise gaussian --amount 0.5 --epochs 22 --lr 3e-4 --seed 21 --mixed-precision \
   --description "Specialist for the tutorial's noise: the blind U-Net fine-tuned on Gaussian noise at 0.5, widened from 24 to 40 filters, then deepened by one residual block per scale and trained on minus each digit's PSNR."
# Then deepened to two residual blocks per scale (the second block starts as the identity) and
# trained 18 more epochs on minus each digit's PSNR (--seed 31), 92 min: +0.015-0.02 dB
# (21.90 -> 21.92, noise seed 0).
$T --name unet-gaussian --init unet-gaussian --arch unet --filters 40 --context 128 --blocks 2 --loss psnr \
   --batch-size 128 --cosine --noise gaussian --amount 0.5 --epochs 18 --lr 3e-4 --seed 31 --mixed-precision \
   --description "Specialist for the tutorial's noise: the blind U-Net fine-tuned on Gaussian noise at 0.5, widened from 24 to 40 filters, then deepened to two residual blocks per scale and trained on minus each digit's PSNR."
# Then deepened to three residual blocks per scale and trained two cycles on minus each digit's PSNR:
# 18 epochs (--seed 41), 118 min, and 17 more (--seed 51), 116 min: +0.01 dB (21.917 -> 21.927,
# noise seed 0).
G="Specialist for the tutorial's noise: the blind U-Net fine-tuned on Gaussian noise at 0.5, widened to 40 filters, deepened to three residual blocks per scale, trained on minus each digit's PSNR"
for run in 41:18 51:17; do  # seed:epochs
$T --name unet-gaussian --init unet-gaussian --arch unet --filters 40 --context 128 --blocks 3 --loss psnr \
   --batch-size 128 --cosine --noise gaussian --amount 0.5 --epochs "${run#*:}" --lr 3e-4 --seed "${run%:*}" --mixed-precision \
   --description "$G."
done
# Then given two input maps marking the pixels the noise clipped to exactly 0 or 1 (--clip-flags;
# models.grow starts their weights at zero, so the model starts as it was) and trained for 85
# minutes (--minutes: the cosine schedule anneals over the time; 12 epochs on a 2-core CPU,
# --seed 91): +0.005 dB (21.927 -> 21.933, noise seed 0). The shipped file came from this command.
$T --name unet-gaussian --init unet-gaussian --arch unet --filters 40 --context 128 --blocks 3 --clip-flags \
   --loss psnr --batch-size 128 --cosine --noise gaussian --amount 0.5 --minutes 85 --lr 3e-4 --seed 91 \
   --mixed-precision --description "$G, and given maps of the pixels the noise clipped to exactly 0 or 1."
fi
if [ -z "$ONLY" ] || want conv; then
$T --name conv --arch conv --filters 32 --noise gaussian --amount 0.5 --epochs 20 --batch-size 128 \
   --description "Convolutional autoencoder after the keras-io denoising example (28→14→7→14→28, 32 filters), Gaussian 0.5."
fi
if [ -z "$ONLY" ] || want dense-best; then
# Chosen by scripts/dense_search.py (docs/dense-search.md): the best of 8 shapes at 10 epochs.
$T --name dense-best --arch dense --code-size 128 --layers 3 --nodes 1024 --loss binary_crossentropy --noise gaussian --amount 0.5 --epochs 40 --cosine \
   --description "The best dense autoencoder found with the tutorial's four knobs (see docs/dense-search.md): 784→1024→512→128→512→1024→784, BCE, Adam, Gaussian 0.5."
fi
if [ -z "$ONLY" ] || want seed-dense; then
$T --name seed-dense --arch dense --code-size 32 --layers 1 --loss binary_crossentropy --optimizer adam --lr 1e-3 --noise gaussian --amount 0.5 --epochs 100 \
   --description "The tutorial's exact autoencoder (784→32→784, ReLU code, sigmoid output, BCE) trained with Adam, 100 epochs. The tutorial's own optimizer fails under Keras 3: 'adadelta' there means learning rate 0.001 (Adadelta's original rate is 1.0), and measured here that recipe reaches only 11.5 dB PSNR after 100 epochs at Gaussian 0.5 — worse than a 3×3 median filter (14.2 dB); this Adam-trained copy reaches 17.4 dB."
fi
