"""Command line: ``python -m denoiser {train,export,quantize,evaluate,shift,denoise,show,worker}``.

Longer than the package's other modules for a reason: each command's body sits beside its
options in one parser, and every body imports what it needs only when it runs (``--help`` loads
neither Keras nor TensorFlow); the work itself is the package's.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from denoiser import __version__


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _progress_printer(stream=None, budget_s: float | None = None):
    """Prints one line per epoch (and a bar on a terminal); with a time budget, the
    epoch count is open and the time left is the budget's."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def report(p) -> None:
        of = "" if budget_s else f"/{p.epochs}"
        if p.epoch_end:
            left = p.eta_s if not budget_s else max(budget_s - p.elapsed_s, 0.0)
            val = "" if p.val_loss is None else f"  val_loss {p.val_loss:.5f}"
            eta = "" if left is None else f"  ~{left:.0f}s left"
            stream.write(("\r" if tty else "") + f"epoch {p.epoch}{of}  loss {p.loss:.5f}{val}"
                         f"  {p.elapsed_s:.0f}s{eta}\n")
        elif tty:
            width = 30
            done = int(width * p.batch / p.batches)
            stream.write(f"\repoch {p.epoch}{of} [{'#' * done}{'.' * (width - done)}] "
                         f"{p.batch}/{p.batches}")
        stream.flush()

    return report


@contextmanager
def _stop_on_interrupt(stop: threading.Event):
    """While training: the first Ctrl-C (or SIGTERM) ends it after the current batch, keeping
    the weights; a second Ctrl-C aborts as usual."""
    def request(signum, frame) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this batch (the model will be written); Ctrl-C again to abort",
              file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():  # signals reach only the main thread
        yield
        return
    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cmd_train(args: argparse.Namespace) -> int:
    from keras.backend import backend as keras_backend

    from denoiser.digits.augment import check_strength
    from denoiser.digits.mnist import load_mnist
    from denoiser.models.build import ModelConfig
    from denoiser.models.files import register, save_model
    from denoiser.models.onnx_export import write_onnx
    from denoiser.models.shipped import load_pretrained
    from denoiser.training.body import train_export_measure
    from denoiser.training.fit import NoiseSpec

    try:
        config = ModelConfig(args.arch, code_size=args.code_size, layers=args.layers,
                             nodes=args.nodes, filters=args.filters, context=args.context,
                             blocks=args.blocks, clip_flags=args.clip_flags, loss=args.loss,
                             optimizer=args.optimizer, learning_rate=args.lr)
        noise = NoiseSpec(args.noise, args.amount)
        check_strength(args.augment, "--augment")
    except ValueError as err:
        raise CLIError(str(err)) from None
    if args.minutes is not None and not 0 < args.minutes <= 7 * 24 * 60:
        raise CLIError(f"--minutes must be in (0, 10080], got {args.minutes:g}")
    epochs = args.epochs if args.epochs is not None else (10_000 if args.minutes else 10)
    budget_s = args.minutes * 60 if args.minutes else None
    if not args.name.replace("-", "").replace("_", "").isalnum():
        raise CLIError(f"--name may hold only letters, digits, '-' and '_', got {args.name!r}")
    digits = load_mnist(args.data)
    x_train = digits.x_train[: args.max_digits] if args.max_digits else digits.x_train
    print(f"data: {digits.description}; training on {len(x_train):,}", file=sys.stderr)
    start = load_pretrained(args.init, args.out) if args.init else None
    if start and start.config.architecture != config.architecture:
        raise CLIError(f"--init {args.init} is a {start.config.architecture} model; give the same --arch")
    can_grow = start and config.architecture == "unet"  # only a U-Net can be widened
    if start and (start.config.filters > config.filters
                  or (not can_grow and start.config.filters != config.filters)):
        raise CLIError(f"--init {args.init} has --filters {start.config.filters}; give "
                       + ("that many or more (a model can grow, not shrink)" if can_grow else "the same"))
    grows = ("context", "blocks", "clip_flags")  # a U-Net gains more of these, never fewer
    for knob in grows:
        had = getattr(start.config, knob) if start else 0
        if had > getattr(config, knob):
            flag = f"--{knob.replace('_', '-')}" + ("" if had is True else f" {had}")
            raise CLIError(f"--init {args.init} has {flag}; give that or more "
                           "(a model can grow, not shrink)")
    from denoiser.models.surgery import grow, rebuild

    def starting_model():
        if can_grow and any(getattr(start.config, k) != getattr(config, k) for k in ("filters", *grows)):
            return grow(start.model, config)  # wider, deeper or with more context, starting as the old model
        return rebuild(start.model, config) if start else None  # a fresh optimiser, this run's precision

    stop = threading.Event()
    with _stop_on_interrupt(stop):
        trained = train_export_measure(
            config, x_train, x_eval=digits.x_test,
            measure_at=[(noise.kind, noise.amount), ("gaussian", 0.5)], start=starting_model,
            mixed_precision=args.mixed_precision, epochs=epochs, batch_size=args.batch_size,
            noise=noise, validation_split=args.val_split, seed=args.seed, stop_event=stop,
            cosine_decay=args.cosine, augment=args.augment, time_budget=budget_s,
            on_progress=_progress_printer(budget_s=budget_s))
    result = trained.result
    if result.message:
        print(result.message, file=sys.stderr)
    if not trained.usable:
        raise CLIError("training diverged before its first epoch ended; no model was written")

    out_dir = Path(args.out)
    path = out_dir / f"{args.name}.keras"
    sha = save_model(trained.model, path)
    exported = write_onnx(trained.onnx, path) if trained.onnx else {}
    if not trained.onnx:
        print(f"warning: {trained.export_error}; the model runs with Keras only", file=sys.stderr)
    measured = {key: {k: round(v, 4) for k, v in scores.items()}
                for key, scores in trained.metrics.items()}
    entry = {
        "file": path.name,
        "description": args.description or f"{config.architecture} trained on {noise.describe()}",
        "config": config.to_dict(),
        "training": {
            "data": f"{digits.description}; trained on {len(x_train):,} of the training split "
                    f"({args.val_split:g} held out for validation)",
            "noise": noise.describe(),
            "epochs": result.epochs_run,
            **({"stopped": f"on request, in epoch {result.epochs_run} of {epochs}"}
               if result.stopped else {}),
            **({"diverged": f"in epoch {result.epochs_run}; the weights of epoch {result.good_epoch} "
                            "were kept"} if result.diverged else {}),
            **({"minutes": args.minutes} if args.minutes else {}),
            **({"keras_backend": backend} if (backend := keras_backend()) != "tensorflow" else {}),
            "batch_size": args.batch_size,
            "cosine_decay": args.cosine,
            **({"augment": f"half of every batch bent by deform_digits at strength {args.augment:g}"}
               if args.augment else {}),
            **({"mixed_precision": "bfloat16 compute, float32 weights"} if args.mixed_precision else {}),
            "init": args.init,
            "continued_from": start.info.get("training") if args.init else None,
            "seed": args.seed,
            "seconds": round(result.seconds, 1),
            # of the epoch whose weights were kept (after a divergence, not the last one run)
            "final_loss": result.history["loss"][result.good_epoch - 1],
            "final_val_loss": (result.history.get("val_loss") or [None] * result.good_epoch)[
                result.good_epoch - 1],
            "date": date.today().isoformat(),
            # every epoch's losses (the Learn view draws the optimisers' curves from them)
            "history": {k: [round(float(v), 6) for v in vals] for k, vals in result.history.items()
                        if k in ("loss", "val_loss")},
        },
        "metrics": {"split": f"test split of {digits.source} ({len(digits.x_test):,} digits)",
                    **measured},
        "sha256": sha,
        **exported,
        "denoiser_version": __version__,
    }
    register(args.name, entry, out_dir, default=args.default)
    print(f"wrote {path} ({result.epochs_run} epochs, {result.seconds:.0f}s); "
          f"{json.dumps(measured)}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from denoiser.models.files import ModelFileError, load_model_file, model_dir, read_manifest, register
    from denoiser.models.onnx_export import save_onnx
    from denoiser.models.shipped import list_pretrained

    directory = model_dir(args.dir)
    names = args.models or list_pretrained(directory)
    for name in names:
        manifest = read_manifest(directory)
        entry = manifest["models"].get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise CLIError(f"no model named {name!r} in {directory}")
        try:
            model = load_model_file(directory / entry["file"], entry.get("sha256"))
            entry.update(save_onnx(model, directory / entry["file"]))
        except ModelFileError as err:
            raise CLIError(str(err)) from None
        register(name, entry, directory, default=manifest.get("default") == name)
        print(f"wrote {directory / entry['onnx']} (equal to Keras within 1e-4)", file=sys.stderr)
    return 0


def _cmd_quantize(args: argparse.Namespace) -> int:
    import numpy as np

    from denoiser.models.files import model_dir, read_manifest, register
    from denoiser.models.onnx_session import OnnxModel
    from denoiser.models.quantize import calibration_digits, int8_onnx
    from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser

    directory = model_dir(args.dir)
    digits = _digits(args)
    calibration = calibration_digits(digits.x_train, args.calibration)
    x = digits.x_test[: args.limit] if args.limit else digits.x_test
    for name in args.models:
        manifest = read_manifest(directory)
        entry = manifest["models"].get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("onnx"), str):
            raise CLIError(f"no model named {name!r} with an ONNX export in {directory} "
                           "(python -m denoiser export writes one)")
        source = directory / entry["onnx"]
        try:
            fields = int8_onnx(source, calibration, source.with_suffix(".int8.onnx"), args.percentile,
                               args.reduce_range)
        except ValueError as err:
            raise CLIError(str(err)) from None
        scores = {}
        for label, file in (("float32", source), ("int8", directory / fields["int8"])):
            model = OnnxModel(file)
            scores[label] = {k: round(v, 4) for k, v in evaluate_denoiser(
                lambda z, m=model: np.clip(m(z), 0, 1), x, "gaussian", 0.5, seed=EVAL_SEED).items()}
        fields["int8_eval"] = {"noise": f"gaussian 0.5, seed {EVAL_SEED}", "digits": len(x),
                               "data": digits.description, "calibration": f"{len(calibration)} "
                               f"training digits under blind noise, percentile {args.percentile:g}"
                               + (", 7-bit weights" if args.reduce_range else ""),
                               **scores}
        entry.update(fields)
        register(name, entry, directory, default=manifest.get("default") == name)
        print(f"wrote {directory / fields['int8']}: {json.dumps(scores)}", file=sys.stderr)
    return 0


def _digits(args: argparse.Namespace):
    """The digits a command reads: the offline sample with ``--sample``, else ``--data`` (or
    ``$DENOISER_MNIST``, Keras' copy, the sample)."""
    from denoiser.digits.mnist import load_mnist, load_sample

    return load_sample() if args.sample else load_mnist(args.data)


def _load_models(names: list[str], directory: str) -> dict:
    from denoiser.models.shipped import list_pretrained, load_pretrained

    names = names or list_pretrained(directory)
    return {name: load_pretrained(name, directory) for name in names}


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from denoiser.results.classical import check_filters
    from denoiser.results.evaluation import evaluate_table, methods_to_compare

    try:
        check_filters(args.filters)  # refuse a wrong filter before loading anything
    except ValueError as err:
        raise CLIError(str(err)) from None
    digits = _digits(args)
    x = digits.x_test[: args.limit] if args.limit else digits.x_test
    models = _load_models(args.models, args.dir)
    methods = methods_to_compare({name: m.denoise for name, m in models.items()}, args.filters)
    kinds = list(args.kinds)
    rows = evaluate_table(methods, x, kinds, args.amounts, seed=args.seed, with_ssim=not args.no_ssim)
    report = {"data": digits.description, "digits": len(x), "seed": args.seed, "results": rows}
    if args.save:
        from denoiser.models.files import save_bytes

        save_bytes((json.dumps(report, indent=2) + "\n").encode(), args.save)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report))
    return 0


def _cmd_shift(args: argparse.Namespace) -> int:
    import numpy as np

    from denoiser.results.classical import check_filters
    from denoiser.results.evaluation import methods_to_compare
    from denoiser.results.shift import measure_shift, shift_markdown
    from denoiser.teaching.collection import MAX_NPZ_BYTES, CollectionError, read_npz

    try:
        check_filters(args.filters)
        path = Path(args.digits)
        if path.stat().st_size > MAX_NPZ_BYTES:
            raise CollectionError(f"{path.name} is larger than a collection ({MAX_NPZ_BYTES // 2**20} MB)")
        ours, _ = read_npz(path.read_bytes())
    except (ValueError, OSError) as err:
        raise CLIError(f"{args.digits}: {err}" if isinstance(err, OSError) else str(err)) from None
    if not len(ours):
        raise CLIError(f"{args.digits} holds no digits")
    digits = _digits(args)
    mnist = digits.x_test[: args.limit] if args.limit else digits.x_test
    models = _load_models(args.models, args.dir)
    methods = methods_to_compare({name: m.denoise for name, m in models.items()}, args.filters)
    rows = measure_shift(methods, {path.stem: ours.astype(np.float32) / 255, "MNIST test": mnist},
                         args.kind, args.amount)
    if args.json:
        print(json.dumps({"noise": f"{args.kind} {args.amount:g}", "mnist": digits.description,
                          "results": rows}, indent=2))
    else:
        print(shift_markdown(rows))
    return 0


def format_table(report: dict) -> str:
    """The evaluation report as a Markdown table: PSNR dB / SSIM per method and noise."""
    rows = report["results"]
    columns = list(dict.fromkeys(f"{r['kind']} {r['amount']:g}" for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["method"], f"{r['kind']} {r['amount']:g}"): r for r in rows}
    lines = [f"{report['data']}; evaluated on {report['digits']:,} test digits (noise seed "
             f"{report['seed']}). Mean PSNR (dB) / SSIM per digit.", "",
             "| method | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for method in methods:
        cells = []
        for col in columns:
            r = cell[(method, col)]
            cells.append(f"{r['psnr']:.2f}" + (f" / {r['ssim']:.3f}" if "ssim" in r else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cmd_denoise(args: argparse.Namespace) -> int:
    from denoiser.models.shipped import load_pretrained
    from denoiser.results.digit_files import denoise_files

    missing = [p for p in args.inputs if not Path(p).is_file()]
    if missing:
        raise CLIError(f"{missing[0]}: no such file")
    denoiser = load_pretrained(args.model, args.dir)
    written = denoise_files(args.inputs, args.out, denoiser.denoise, scale=args.scale)
    for path in written:
        print(path)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from denoiser.models.files import save_bytes
    from denoiser.models.shipped import load_pretrained
    from denoiser.results.compare import means_markdown
    from denoiser.results.pictures import Scene

    if not 1 <= args.count <= 16:
        raise CLIError(f"--count must be in [1, 16], got {args.count}")
    digits = _digits(args)
    clean, labels = digits.sample(args.count, args.digit, seed=args.sample_seed)
    model = load_pretrained(args.model, args.dir, lazy=True)
    scene = Scene(clean, [f"digit {d}" for d in labels], {model.name: model.denoise}, args.kind, args.seed,
                  args.filters, args.diff, scale=args.scale, wide=True)  # as the page draws it
    picture = scene.at(args.amount)
    save_bytes(picture.png, args.out)
    print(means_markdown(picture.means))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from denoiser.digits.noise import NOISE_KINDS
    from denoiser.models.config import (  # not .models: --help imports no Keras
        ARCHITECTURES,
        LOSSES,
        OPTIMIZERS,
    )
    from denoiser.models.quantize import CALIBRATION_DIGITS, PERCENTILE

    parser = argparse.ArgumentParser(prog="python -m denoiser",
                                     description="Denoise MNIST digits with autoencoders.")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model and add it to a model directory's manifest")
    t.add_argument("--name", required=True, help="model name (file NAME.keras)")
    t.add_argument("--arch", choices=list(ARCHITECTURES), default="dense")
    t.add_argument("--code-size", type=int, default=32, help="dense: nodes in the code layer")
    t.add_argument("--layers", type=int, default=1, help="dense: encoder layers incl. the code")
    t.add_argument("--nodes", type=int, default=128, help="dense: nodes in the first hidden layer")
    t.add_argument("--filters", type=int, default=32, help="conv/unet: channels at full size")
    t.add_argument("--context", type=int, default=0,
                   help="unet: nodes of a dense layer seeing the whole digit (0 = none)")
    t.add_argument("--blocks", type=int, default=0,
                   help="unet: residual blocks after the bottleneck and each decoder stage (0-4)")
    t.add_argument("--clip-flags", action="store_true",
                   help="unet: also feed maps of the pixels the noise clipped to exactly 0 or 1")
    t.add_argument("--loss", choices=LOSSES, default="binary_crossentropy")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    t.add_argument("--epochs", type=int, default=None,
                   help="passes over the data (default 10; with --minutes, an upper bound, "
                        "10,000 by default)")
    t.add_argument("--minutes", type=float, default=None,
                   help="train for this long instead of a set number of epochs; with --cosine "
                        "the learning rate anneals over this time")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--noise", choices=[*NOISE_KINDS, "blind"], default="gaussian",
                   help="training noise kind, or blind (random kind and amount per digit)")
    t.add_argument("--amount", type=float, default=0.5, help="training noise amount in [0, 1]")
    t.add_argument("--val-split", type=float, default=0.05)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--cosine", action="store_true", help="cosine learning-rate decay to zero")
    t.add_argument("--augment", type=float, default=0.0,
                   help="bend half of every batch with random elastic deformations of this "
                        "strength in [0, 2] (new handwriting; 0 = none)")
    t.add_argument("--mixed-precision", action="store_true",
                   help="compute in bfloat16, keep float32 weights (faster on CPUs with "
                        "AVX-512 BF16); the saved model is float32")
    t.add_argument("--init", help="start from this model of the output directory (fine-tuning)")
    t.add_argument("--max-digits", type=int, default=0, help="train on at most this many digits")
    t.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST, Keras, sample)")
    t.add_argument("--out", default=str(_default_dir()), help="model directory")
    t.add_argument("--description", default="", help="one line for the manifest")
    t.add_argument("--default", action="store_true", help="make it the directory's default model")
    t.set_defaults(func=_cmd_train)

    ex = sub.add_parser("export", help="write each model's ONNX export (the app's runtime) beside "
                                      "its .keras file and name it in the manifest")
    ex.add_argument("--models", nargs="*", default=[], help="model names (default: all)")
    ex.add_argument("--dir", default=str(_default_dir()), help="model directory")
    ex.set_defaults(func=_cmd_export)

    q = sub.add_parser("quantize", help="write a model's 8-bit copy beside its ONNX export, measure "
                                         "both on the test digits and name it in the manifest")
    q.add_argument("models", nargs="+", help="model names")
    q.add_argument("--dir", default=str(_default_dir()), help="model directory")
    q.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST, Keras, sample)")
    q.add_argument("--sample", action="store_true", help="use the shipped sample (quick, for tests)")
    q.add_argument("--calibration", type=int, default=CALIBRATION_DIGITS,
                   help="training digits that set the ranges")
    q.add_argument("--limit", type=int, default=0, help="measure on the first N test digits only")
    q.add_argument("--percentile", type=float, default=PERCENTILE,
                   help="activation ranges end at this percentile of the calibration values (100: "
                        "their extremes; which is better depends on the model: measure both)")
    q.add_argument("--reduce-range", action="store_true",
                   help="weights in 7 bits, as ONNX Runtime advises for CPUs without VNNI")
    q.set_defaults(func=_cmd_quantize)

    e = sub.add_parser("evaluate", help="measure models and classical filters (PSNR/SSIM table)")
    e.add_argument("--models", nargs="*", default=[], help="model names (default: all)")
    e.add_argument("--filters", nargs="*", default=["median", "gaussian_blur", "nl_means",
                                                     "total_variation", "wavelet"],
                   help="classical filters to compare")
    e.add_argument("--kinds", nargs="+", choices=list(NOISE_KINDS), default=["gaussian"])
    e.add_argument("--amounts", nargs="+", type=float, default=[0.1, 0.3, 0.5, 0.7])
    e.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST, Keras, sample)")
    e.add_argument("--sample", action="store_true", help="use the offline sample's test digits")
    e.add_argument("--limit", type=int, default=0, help="use only the first N test digits")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise draw")
    e.add_argument("--no-ssim", action="store_true", help="PSNR only (faster)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--save", help="also write the JSON report to this file")
    e.add_argument("--dir", default=str(_default_dir()), help="model directory")
    e.set_defaults(func=_cmd_evaluate)

    d = sub.add_parser("denoise", help="denoise PNG/JPEG/NPY files into PNGs")
    d.add_argument("inputs", nargs="+", help="image files (.png, .jpg, .jpeg, .npy)")
    d.add_argument("--out", required=True, help="output folder for the denoised PNGs")
    d.add_argument("--model", help="model name (default: the default model)")
    d.add_argument("--scale", type=int, default=1, help="enlarge output PNGs by this factor (1-32)")
    d.add_argument("--dir", default=str(_default_dir()), help="model directory")
    d.set_defaults(func=_cmd_denoise)

    s = sub.add_parser("show", help="draw the app's comparison picture of test digits into a PNG")
    s.add_argument("--out", required=True, help="the PNG to write")
    s.add_argument("--model", help="model name (default: the default model)")
    s.add_argument("--kind", choices=list(NOISE_KINDS), default="gaussian", help="noise kind")
    s.add_argument("--amount", type=float, default=0.5, help="noise amount in [0, 1]")
    s.add_argument("--count", type=int, default=8, help="how many test digits (1-16)")
    s.add_argument("--digit", type=int, choices=range(10), help="only this digit class")
    s.add_argument("--filters", nargs="*", default=[], help="classical filters to add as rows")
    s.add_argument("--diff", action="store_true", help="add the |denoised − clean| row")
    s.add_argument("--seed", type=int, default=0, help="which noise draw (the app's New noise)")
    s.add_argument("--sample-seed", type=int, default=0, help="which digits (the app's New sample)")
    s.add_argument("--scale", type=int, default=4, help="screen pixels per digit pixel (1-16)")
    s.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST, Keras, sample)")
    s.add_argument("--sample", action="store_true", help="use the offline sample's test digits")
    s.add_argument("--dir", default=str(_default_dir()), help="model directory")
    s.set_defaults(func=_cmd_show)

    h = sub.add_parser("shift", help="models and filters on a class's digits (.npz) against MNIST's "
                                     "test digits, at the same noise")
    h.add_argument("digits", help="a collection exported from the app, or any .npz in Keras' MNIST layout")
    h.add_argument("--models", nargs="*", default=[], help="model names (default: all)")
    h.add_argument("--filters", nargs="*", default=["median"], help="classical filters to compare")
    h.add_argument("--kind", choices=list(NOISE_KINDS), default="gaussian", help="noise kind")
    h.add_argument("--amount", type=float, default=0.5, help="noise amount in [0, 1]")
    h.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST, Keras, sample)")
    h.add_argument("--sample", action="store_true", help="use the offline sample's test digits")
    h.add_argument("--limit", type=int, default=1000, help="MNIST test digits to use (0: all)")
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    h.add_argument("--dir", default=str(_default_dir()), help="model directory")
    h.set_defaults(func=_cmd_shift)
    w = sub.add_parser("worker", help="train the app's runs from a Redis queue (RQ), one at a time, "
                                      "at low CPU priority; start any number, on any machine")
    w.add_argument("--redis", help="Redis URL (default: $DENOISER_REDIS_URL)")
    w.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    w.set_defaults(func=_cmd_worker)
    return parser


def _cmd_worker(args: argparse.Namespace) -> int:
    from denoiser.training.remote import redis_url
    from denoiser.training.worker import run_worker

    url = args.redis or redis_url()
    if not url:
        raise CLIError("give --redis URL or set DENOISER_REDIS_URL")
    run_worker(url, burst=args.burst)
    return 0


def _default_dir() -> Path:
    from denoiser.models.files import model_dir

    return model_dir()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
