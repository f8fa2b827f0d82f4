#!/usr/bin/env bash
# Reference models that are measured but not shipped (into build/reference/).
# tutorial-adadelta: the seed tutorial's exact recipe (784→32→784, BCE, Keras' 'adadelta' = lr 0.001,
# 100 epochs, batch 128, Gaussian 0.5): the figure quoted in the README and the Learn view.
set -euo pipefail
: "${DENOISER_MNIST:?set DENOISER_MNIST to a Keras-layout mnist.npz}"
python -m denoiser train --name tutorial-adadelta --out build/reference --val-split 0.05 --seed 0 \
  --arch dense --code-size 32 --layers 1 --loss binary_crossentropy --optimizer adadelta --lr 1e-3 \
  --noise gaussian --amount 0.5 --epochs 100 --batch-size 128 \
  --description "The tutorial's exact recipe under Keras 3 (Adadelta at its default learning rate 0.001)."
