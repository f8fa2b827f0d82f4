#!/usr/bin/env bash
# The small models the Learn view's experiments compare side by side (pretrained/lessons/, its own
# manifest): three code sizes, the tutorial's Adadelta against Adam, a U-Net with and without
# whole-digit context. Each pair differs in the one setting its lesson is about.
# Usage: DENOISER_MNIST=path/to/mnist.npz bash scripts/train_lessons.sh [name ...]
# Times on a 2-core CPU: each dense model ~1 min, each U-Net ~3-4 min.
set -euo pipefail
: "${DENOISER_MNIST:?set DENOISER_MNIST to a Keras-layout mnist.npz (the full 60k training split)}"
ONLY="$*"
want() { [ -z "$ONLY" ] || [[ " ${ONLY} " == *" $1 "* ]]; }
T="python -m denoiser train --out pretrained/lessons --val-split 0.05 --seed 0 --noise gaussian --amount 0.5"
# The tutorial's network (784 → code → 784, BCE) for 30 epochs: only the code size differs.
for code in 4 32 128; do
  want "code-$code" && $T --name "code-$code" --arch dense --code-size "$code" --layers 1 --optimizer adam \
    --lr 1e-3 --epochs 30 --description "The tutorial's network with a code of $code numbers (784→$code→784), Adam, 30 epochs."
done
# The tutorial's own optimiser: Keras 3's 'adadelta' (learning rate 0.001); code-32 is the same with Adam.
want adadelta && $T --name adadelta --arch dense --code-size 32 --layers 1 --optimizer adadelta --lr 1e-3 \
  --epochs 30 --description "The tutorial's network and optimiser, 'adadelta' at Keras 3's default learning rate 0.001, 30 epochs."
# A small U-Net without and with whole-digit context, otherwise alike.
for context in 0 64; do
  want "context-$context" && $T --name "context-$context" --arch unet --filters 8 --context "$context" \
    --batch-size 128 --cosine --epochs 10 \
    --description "U-Net (width 8) with whole-digit context of $context nodes (0 = none), 10 epochs."
done
exit 0
