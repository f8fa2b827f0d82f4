#!/usr/bin/env bash
# Produce every figure: evaluations into docs/, benchmark results into benchmarks/results/
# (NAME-KIND.json, KIND from this CPU), then docs/performance.md from them (2-core CPU: about 40 minutes).
# Usage: DENOISER_MNIST=path/to/mnist.npz bash scripts/make_figures.sh
#          [eval|sweep|bench|frontier|app|move|load|class|train|photos|install|shots]
set -euo pipefail
: "${DENOISER_MNIST:?set DENOISER_MNIST to a Keras-layout mnist.npz (the full 10k test split)}"
mkdir -p docs benchmarks/results
kind=$(python -c 'from harness.machine import cpu_kind; print(cpu_kind())')
R="benchmarks/results"
all=$([ $# -eq 0 ] && echo 1 || echo 0)
ARGS=" $* "
want() { [ "$all" = 1 ] || [[ "$ARGS" == *" $1 "* ]]; }
if want eval; then  # shipped models and classical filters, Gaussian noise, full test set
  python -m denoiser evaluate --kinds gaussian --amounts 0.1 0.3 0.5 0.7 \
    --save docs/eval-gaussian.json > docs/eval-gaussian.md
  if [ -f build/reference/manifest.json ]; then  # the tutorial's own recipe, scripts/train_reference.sh
    python -m denoiser evaluate --dir build/reference --filters --kinds gaussian --amounts 0.5 \
      --save docs/eval-reference.json > docs/eval-reference.md
  else
    echo "build/reference/ is absent (scripts/train_reference.sh makes it); docs/eval-reference.* kept" >&2
  fi
  python -m denoiser.teaching.lesson docs  # the figures the Learn view quotes, shipped inside the package
fi
if want sweep; then  # the blind model against noisy input and every filter, all kinds and amounts
  python -m denoiser evaluate --models blind --kinds gaussian salt_pepper speckle poisson masking \
    --amounts 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 --no-ssim --limit 2000 \
    --save docs/eval-blind-sweep.json > docs/eval-blind-sweep.md
fi
if want bench; then
  python -m benchmarks.bench_denoise --model blind > "$R/bench_denoise-$kind.json"
fi
if want frontier; then  # ms per move against dB for the candidate default models (and int8)
  python -m benchmarks.bench_frontier --int8 --data "$DENOISER_MNIST" --save "$R/bench_frontier-$kind.json"
fi
if want train; then python -m benchmarks.bench_first_point --save "$R/bench_first_point-$kind.json"; fi
if want photos; then python -m benchmarks.photo_corpus --save "$R/photo_corpus-$kind.json"; fi
if want app; then python -m benchmarks.bench_app > "$R/bench_app-$kind.json"; fi
if want move; then python -m benchmarks.bench_move > "$R/bench_move-$kind.json"; fi
if want load; then python -m benchmarks.load_test > "$R/load_test-$kind.json" || true; fi
if want class; then  # the browserless classroom: 30 + 4 trainings; 30 pressing Start; 8 + 1 (as the Chromium test)
  python -m benchmarks.class_load --save "$R/class_load-$kind.json" || true
  python -m benchmarks.class_load --students 0 --trainers 30 --press-within 10 --train-epochs 1 \
    --train-digits 1000 --save "$R/class_load_rush-$kind.json" || true
fi
if want install; then  # a fresh virtualenv with tensorflow-cpu, then with tensorflow
  python -m benchmarks.bench_install --variant cpu > /tmp/bench-install-cpu.json
  python -m benchmarks.bench_install --variant full > /tmp/bench-install-full.json
  python -c "import json; print(json.dumps({'cpu': json.load(open('/tmp/bench-install-cpu.json')), \
'full': json.load(open('/tmp/bench-install-full.json'))}, indent=2))" > "$R/bench_install-$kind.json"
fi
if want shots; then python -m scripts.screenshots; fi
python -m benchmarks.report  # docs/performance.md from benchmarks/results/
