"""The Train page: the tutorial's hyperparameters, a run in the background, live curves and runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from denoiser.digits.noise import BLIND, NOISE_KINDS
from denoiser.results.grid import digit_grid_png
from ui.alt_text import described_image
from ui.charts import bar_chart, line_chart
from ui.class_digits import class_digits_panel
from ui.common import MAX_RUNS, guarded
from ui.loaders import get_digits, shipped_names
from ui.state import session_alive

if TYPE_CHECKING:
    from denoiser.models.config import ModelConfig

#: Test digits each run is measured on (Gaussian 0.5, the noise seed
#: :data:`denoiser.results.evaluation.EVAL_SEED`), and the baselines with it.
EVAL_DIGITS = 500

#: One control per model setting an architecture may read (``Architecture.settings``).
SETTING_CONTROLS = {
    "code_size": lambda c: c.select_slider(
        "Code size", [2, 4, 8, 16, 32, 64, 128, 256], value=32, key="t_code",
        help="Numbers in the bottleneck; smaller = more compression."),
    "layers": lambda c: c.slider(
        "Number of layers", 1, 4, 1, key="t_layers",
        help="Encoder layers including the code (1 = 784 → code → 784)."),
    "nodes": lambda c: c.select_slider(
        "Nodes per layer", [64, 128, 256, 512, 1024], value=256, key="t_nodes",
        help="Width of the first hidden layer; each deeper one halves it."),
    "filters": lambda c: c.select_slider(
        "Filters", [4, 8, 16, 24, 32], value=8, key="t_filters",
        help="Channels at full resolution; more = slower, stronger."),
    "context": lambda c: c.select_slider(
        "Whole-digit context", [0, 32, 64, 128], value=0, key="t_context",
        help="Nodes of a dense layer that sees the whole digit at the bottleneck "
             "(0 = none; convolutions see only a neighbourhood)."),
    "blocks": lambda c: c.slider(
        "Residual blocks", 0, 2, 0, key="t_blocks",
        help="Residual blocks per scale after the bottleneck and each decoder stage (0 = none)."),
    "clip_flags": lambda c: c.checkbox(
        "Clip flags", key="t_flags",
        help="Two more input maps marking the pixels the noise clipped to exactly 0 or 1."),
}


def architecture_settings(arch: str) -> dict:
    """A control for each setting ``arch`` reads, laid out three to a row; their values."""
    from denoiser.models.config import ARCHITECTURES

    settings = ARCHITECTURES[arch].settings
    missing = [s for s in settings if s not in SETTING_CONTROLS]
    if missing:
        raise ValueError(f"architecture {arch!r} reads {', '.join(missing)}, which the app has no "
                         "control for: add one to SETTING_CONTROLS in ui/train.py")
    values = {}
    for row in range(0, len(settings), 3):
        for column, name in zip(st.columns(3), settings[row : row + 3]):
            values[name] = SETTING_CONTROLS[name](column)
    return values


@dataclasses.dataclass
class Start:
    """Where a run starts (a model to fine-tune, or none) and the other digits it adds."""

    name: str = ""
    model: object = None  # a Denoiser
    keras_source: str | bytes | None = None  # its .keras file (a path) or the file's bytes
    extra_name: str = ""
    extra_train: np.ndarray | None = None  # two thirds: trained on with the MNIST digits
    held: np.ndarray | None = None  # a third: measured before and after, never trained on

    def keras_bytes(self) -> bytes | None:
        """The starting model's .keras file, read when a run starts (not at every rerun)."""
        source = self.keras_source
        return Path(source).read_bytes() if isinstance(source, str) else source


NEW_MODEL = "a new model"
NO_EXTRA = "MNIST only"


def start_and_data() -> Start:
    """Fine-tuning: a model to start from and other handwriting to add, a third held out."""
    from denoiser.teaching.handwriting import other_handwriting, split_held_out
    from ui.state import get_model, model_choices

    start = Start()
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    models = [NEW_MODEL, *model_choices()]
    if st.session_state.get("t_start_from") not in models:
        st.session_state.t_start_from = NEW_MODEL
    name = row.selectbox("Start from", models, key="t_start_from",
                         help="A new model learns from scratch; a trained one goes on learning from "
                              "its weights (fine-tuning): quicker, and it keeps what it knew.")
    sets = other_handwriting()
    if st.session_state.get("t_extra") not in [NO_EXTRA, *sets]:
        st.session_state.t_extra = NO_EXTRA
    extra = row.selectbox("Add other handwriting", [NO_EXTRA, *sets], key="t_extra",
                          help="Your class's digits or the UCI digits join the training digits; a third "
                               "of them is held out to measure the model on before and after.")
    if name != NEW_MODEL and (model := get_model(name)) is not None:
        if model.keras_source is None:
            st.warning(f"{name} has no Keras file to go on from: a new model is trained instead.")
        else:
            start.name, start.model, start.keras_source = name, model, model.keras_source
    if extra != NO_EXTRA:
        digits = sets[extra]()
        train_idx, held_idx = split_held_out(len(digits.x_test))
        start.extra_name, start.extra_train, start.held = (extra, digits.x_test[train_idx],
                                                           digits.x_test[held_idx])
        st.caption(f"{digits.description}: {len(train_idx):,} join the training digits, "
                   f"{len(held_idx):,} are held out and measured before and after.")
    return start


def model_config(start, arch: str, settings: dict | None, loss: str, optimizer: str,
                 lr: float) -> tuple[ModelConfig | None, str]:
    """The run's model configuration from the form (a fine-tune keeps its model's layers and takes
    this run's loss and optimiser), or None and why not."""
    from denoiser.models.config import ModelConfig

    try:
        if start.model is not None:
            return dataclasses.replace(start.model.config, loss=loss, optimizer=optimizer,
                                       learning_rate=lr), ""
        if settings is None:
            return None, "the architecture's settings are not valid"
        return ModelConfig(arch, **settings, loss=loss, optimizer=optimizer, learning_rate=lr), ""
    except ValueError as err:
        return None, str(err)


def train_form(data) -> None:
    from denoiser.digits.noise import NoiseSpec
    from denoiser.models.config import ARCHITECTURES, LOSSES, OPTIMIZERS
    from denoiser.training.hints import training_hints
    from denoiser.training.remote import training_backend
    from denoiser.training.slots import TrainingQueue, keep_a_spare

    start = start_and_data()
    # No st.form: each setting reaches the session as it is set, so it is kept while the person
    # visits another page (ui.state.PERSISTENT), as a form's unsent values were not.
    if start.model is None:
        arch = st.selectbox("Architecture", list(ARCHITECTURES), key="t_arch",
                            format_func=lambda a: f"{a} — {ARCHITECTURES[a].description}",
                            help="The kind of network; the settings below are the ones it reads.")
    with st.container(border=True):
        if start.model is not None:
            arch = start.model.config.architecture
            settings = {}
            st.markdown(f"**{start.name}: a {arch} model** — its layers and weights are where this run "
                        "starts; the settings below say how it goes on learning.")
        else:
            st.markdown(f"**{arch}: its settings** (for dense, the tutorial's four hyperparameters: "
                        "these three and the loss)")
            try:
                settings = architecture_settings(arch)
            except ValueError as err:
                st.error(str(err))
                settings = None
        loss = st.radio("Loss", LOSSES, key="t_loss", horizontal=True,
                        help="What training minimises: binary cross-entropy, mean squared error, or "
                             "psnr (minus each digit's PSNR: every digit counts alike).")
        st.markdown("**Optimisation**")
        c1, c2, c3 = st.columns(3)
        optimizer = c1.selectbox("Optimizer", OPTIMIZERS, key="t_opt",
                                 help="adam adapts step sizes; adadelta at Keras' default rate barely moves.")
        lr = c2.select_slider("Learning rate", [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1, 1.0, 10.0],
                              value=1e-3, key="t_lr", format_func=lambda v: f"{v:g}",
                              help="Step size of each update; too high diverges (try 10: the run stops "
                                   "and keeps its last good epoch), too low learns nothing.")
        epochs = c3.slider("Epochs", 1, 50, 10, key="t_epochs",
                           help="Passes over the training digits, each with a fresh noise draw.")
        c1, c2, c3 = st.columns(3)
        batch = c1.select_slider("Batch size", [16, 32, 64, 128, 256, 512], value=32, key="t_batch",
                                 help="Digits per weight update: smaller = more updates per epoch.")
        kind = c2.selectbox("Training noise", [*NOISE_KINDS, BLIND], key="t_noise",
                            help="The noise the model learns to remove; blind = random kind and amount.")
        amount = c3.slider("Training noise amount", 0.0, 1.0, 0.5, 0.05, key="t_amount",
                           help="Strength of the training noise (ignored for blind).")
        n_max = len(data.x_train)
        size = st.slider("Training digits", min(100, n_max), n_max, min(4000, n_max), step=100,
                         key="t_size", help="How many training digits to learn from (10% are held out "
                                            "for the validation loss).")
        config, config_error = model_config(start, arch, settings, loss, optimizer, lr)
        job_class, queue = training_backend()
        # A run from this page starts with TensorFlow loaded and a new model with these settings
        # already built and traced: by this server's spare process, or by an idle Redis worker.
        expected = config if start.model is None else None
        if isinstance(queue, TrainingQueue):
            keep_a_spare(queue, expect=expected)
        elif expected is not None:
            queue.expect(expected)
        up = queue.available()
        submitted = st.button("Start training", type="primary", key="t_start",
                              disabled=settings is None or not up,
                              help="Train in the background; watch it learn on the right.")
    if not up:
        st.warning("Training is unavailable right now: the training queue (Redis) does not answer. "
                   "Denoising and every other view work as before; this page tries again by itself.")
    if not submitted:
        return
    active = st.session_state.get("active_job")
    if active is not None and active.running:
        st.warning("A training run is still going: stop it first.")
        return
    try:
        if config is None:
            raise ValueError(config_error)
        x_train = data.x_train[:size]
        if start.extra_train is not None:
            x_train = np.concatenate([x_train, start.extra_train])
        job = job_class(config, NoiseSpec(kind, amount), epochs, batch, x_train,
                        preview_clean=data.x_test[:8], x_eval=data.x_test[:EVAL_DIGITS],
                        name=st.session_state.runs.next_name(), queue=queue,
                        alive=session_alive(), hints=training_hints(config, epochs, size, batch),
                        start_model=start.keras_bytes(), start_name=start.name, x_held=start.held,
                        held_name=start.extra_name)
    except ValueError as err:
        st.error(f"Cannot train with these settings: {err}")
        return
    for oldest in st.session_state.runs.add(job.start()):
        st.info(f"Only the last {MAX_RUNS} runs are kept: {oldest} was dropped.")
    st.session_state.active_job = job


def live_training() -> None:
    """The live panel: a fragment that refreshes itself every second while a run is training."""
    job = st.session_state.get("active_job")
    if job is None:
        st.info("Set the hyperparameters in the form and press **Start training**.")
        return
    st.session_state._poll = (job.id, poll_every(job))
    with st.container(key="live_panel"):  # found by the browser tests and benchmarks
        st.fragment(live_panel, run_every=st.session_state._poll[1])()


#: Seconds between the live panel's refreshes while a run trains; while it waits for its first
#: epoch, STARTING_POLL, and each of those refreshes waits up to STARTING_WAIT for the point itself
#: (shorter than STARTING_POLL, so refreshes never pile up), so it shows the moment it exists.
POLL, STARTING_POLL, STARTING_WAIT = 1.0, 0.25, 0.2


def starting(job) -> bool:
    return job.status == "training" and not job.history["loss"]


def poll_every(job) -> float | None:
    if not job.running:
        return None
    return STARTING_POLL if starting(job) else POLL


def start_status() -> None:
    """Under Start training: where this session's run is now, in one line, as it changes (the
    full panel, with its curves, is beside the form)."""
    job = st.session_state.get("active_job")
    if job is None:
        return
    st.fragment(status_line, run_every=1.0 if job.running else None)()


def status_line() -> None:
    job = st.session_state.active_job
    p = job.progress
    if job.status == "queued":
        text = f"**{job.name}** waits: number {job.queue_position()} in line."
    elif job.running:
        text = (f"**{job.name}** is starting…" if p is None else
                f"**{job.name}**: epoch {p.epoch} of {p.epochs}, {p.fraction:.0%} done — its curves "
                "are beside the form.")
    else:
        text = f"**{job.name}** {job.status}."
    st.markdown(f":material/model_training: {text}")


def live_panel() -> None:
    import pandas as pd

    job = st.session_state.active_job
    if starting(job):
        job.wait_for_point(1, STARTING_WAIT)
    p = job.progress
    if job.hints:
        st.warning("**Heads-up, this may end in a blob.** " + " ".join(job.hints))
    if job.status == "queued":
        wait = job.queue.estimated_wait(job)
        st.info(f"{job.name} waits for a free training slot: number {job.queue_position()} in line"
                + ("" if wait is None else f", starting in about {wait:.0f} s")
                + f" ({job.queue.slots} training(s) at a time, first come first served).")
        if st.button("Stop", help="Leave the queue: this run will not train."):
            job.stop()
    elif job.running:
        if p is None:
            st.progress(0.0, text=f"{job.name}: starting (loading TensorFlow takes a few seconds)…")
        else:
            eta = "" if p.eta_s is None else f" · about {p.eta_s:.0f} s left"
            st.progress(min(1.0, p.fraction),
                        text=f"{job.name}: epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches}{eta}")
        if st.button("Stop", help="End training after the current batch and keep the model."):
            job.stop()
    else:
        message = job.error or (job.result.message if job.result else "")
        state = {"finished": st.success, "stopped": st.warning,
                 "cancelled": st.warning}.get(job.status, st.error)
        if job.status == "cancelled":
            message = "it was stopped before its first batch, so nothing was trained"
        state(f"{job.name} {job.status}" + (f": {message}" if message else "") +
              (" — pick it in **Denoise** to try it." if job.denoiser() is not None else ""))
        if job.held:
            st.markdown(held_words(job))
    history = pd.DataFrame({"training loss": job.history["loss"],
                            "validation loss": job.history["val_loss"]},
                           index=pd.RangeIndex(1, len(job.history["loss"]) + 1, name="epoch"))
    st.markdown("**Loss per epoch**")
    if len(history):
        line_chart(history, "epoch", "loss", height=220)
    else:
        st.caption("The curves appear after the first epoch.")
    st.markdown("**Test digits (never trained on), denoised after each epoch**")
    blank = [""] * len(job.preview_clean)
    rows = [("Noisy", job.preview_noisy, blank)]
    rows += [(f"After epoch {epoch}", out, blank) for epoch, out in list(enumerate(job.previews, 1))[-4:]]
    rows.append(("Clean", job.preview_clean, blank))
    described_image("previews", digit_grid_png(rows, scale=2, per_line=len(blank)),
                    f"{len(blank)} test digits: noisy, as denoised after each of the last "
                    f"{len(rows) - 2} epochs, and clean, a row each.", output_format="PNG")
    if not job.running and st.session_state.get("_shown") != job.id:  # ended: finished, stopped, …
        st.session_state._shown = job.id
        st.rerun(scope="app")  # refresh the run table and the model list
    elif st.session_state.get("_poll") == (job.id, STARTING_POLL) and not starting(job):
        # its first epoch is in (or it was stopped): back to POLL, once this point has been shown
        if st.session_state.get("_point_shown") == job.id:
            st.rerun(scope="app")
        st.session_state._point_shown = job.id


def held_cell(held: dict) -> str | None:
    """Before → after PSNR on the held-out other digits, for the runs table."""
    if not held:
        return None
    before = held.get("before")
    return (f"{before['psnr']:.2f} → " if before else "") + f"{held['after']['psnr']:.2f}"


def held_words(job) -> str:
    """A run's scores on the other digits it held out, before and after, in one line."""
    before, after = job.held.get("before"), job.held["after"]
    then = (f"{before['psnr']:.2f} dB (SSIM {before['ssim']:.3f}) before, " if before else "")
    return (f"On the {len(job.x_held):,} held-out digits of *{job.held_name}* (never trained on), "
            f"Gaussian 0.5: {then}**{after['psnr']:.2f} dB** (SSIM {after['ssim']:.3f}) after.")


BASELINE_WORDS = {"noisy input": "no denoising at all: the noisy digits as they are",
                  "median filter": "a 3×3 median filter, no learning"}


@st.cache_data(show_spinner=False)
def baselines(n: int) -> dict[str, dict[str, float]]:
    """PSNR/SSIM of the noisy input and of a median filter on the digits every run is measured on."""
    from denoiser.results.evaluation import EVAL_SEED, NOISY_INPUT, evaluate_denoiser, methods_to_compare

    x = get_digits().x_test[:n]
    methods = methods_to_compare({}, ["median"])  # the noisy input and the filter, as Explore has them
    return {label: evaluate_denoiser(methods[method], x, "gaussian", 0.5, seed=EVAL_SEED)
            for label, method in (("noisy input", NOISY_INPUT), ("median filter", "filter: median"))}


def runs_table() -> None:
    import pandas as pd

    runs = st.session_state.runs
    if not runs:
        return
    st.header("Your runs")
    if runs.dropped:
        st.caption(f"Only the last {MAX_RUNS} runs are kept in this session.")
    rows = []
    curves = {name: pd.Series(values, index=range(1, len(values) + 1))
              for name, values in runs.validation_curves().items()}
    for name, job in runs.items():
        val = [v for v in job.history["val_loss"] if v == v]
        kept = (f" (epoch {job.result.good_epoch} kept)" if job.status == "diverged"
                and job.denoiser() is not None else "")
        rows.append({"run": name, "status": job.status + kept, "settings": job.summary(),
                     "epochs": len(job.history["loss"]),
                     "final val loss": round(val[-1], 5) if val else None,
                     "PSNR (Gaussian 0.5)": round(job.metrics["psnr"], 2) if job.metrics else None,
                     "SSIM": round(job.metrics["ssim"], 3) if job.metrics else None,
                     "held-out other digits (dB)": held_cell(job.held)})
    for name, scores in baselines(EVAL_DIGITS).items():
        rows.append({"run": name, "status": "baseline", "settings": BASELINE_WORDS[name],
                     "PSNR (Gaussian 0.5)": round(scores["psnr"], 2), "SSIM": round(scores["ssim"], 3)})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(f"PSNR and SSIM: the same {EVAL_DIGITS} test digits with the same Gaussian 0.5 noise for "
               "every run, so a run is good when it beats both baselines.")
    scored = {r["run"]: r["PSNR (Gaussian 0.5)"] for r in rows if r["PSNR (Gaussian 0.5)"] is not None}
    left, right = st.columns(2)
    if curves:
        with left:
            st.markdown("**Validation loss of every run**")
            line_chart(pd.DataFrame(curves), "epoch", "validation loss")
            if any(job.status == "diverged" for job in runs.values()):
                st.caption("A diverged run is drawn up to the epoch it kept.")
    with right:
        st.markdown("**PSNR at Gaussian 0.5, runs against the baselines**")
        bar_chart(scored, "PSNR (dB)")
    st.download_button("Curves (CSV)", runs.curves_csv, file_name="training-curves.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:",
                       help="Every run's loss and validation loss per epoch, for a spreadsheet.")
    done = runs.finished()
    if done:
        c1, c2 = st.columns([2, 1])
        pick = c1.selectbox("Download a run", done, key="download_pick",
                            help="Save a trained model as a .keras file to load in Keras.")
        c2.write("")
        c2.download_button("Download .keras", data=lambda job=runs[pick]: job.model_bytes,
                           file_name=f"{pick.replace(' ', '-')}.keras", mime="application/octet-stream",
                           help="The model file, loadable with keras.saving.load_model.")


def share_panel() -> None:
    """Publishing to the class gallery: this session's finished runs and uploaded models."""
    from ui.sharing import publish_panel, uploads

    runs = st.session_state.runs
    candidates = {name: (runs[name].model_bytes, runs[name].onnx_bytes,
                         f"{name} trained in the app: {runs[name].summary()}", runs[name].config.to_dict())
                  for name in runs.finished()}
    candidates.update({name: (up.keras_bytes, up.onnx_bytes, up.model.description, up.model.config.to_dict())
                       for name, up in uploads().items()})
    if candidates:
        publish_panel(candidates, taken=tuple(shipped_names()[0]))


def view_train(data) -> None:
    st.markdown("Train your own denoising autoencoder on "
                f"{'up to ' + format(len(data.x_train), ',')} training digits and watch it learn. "
                "A dense model on 4,000 digits for 10 epochs takes seconds; conv and unet take minutes.")
    form, live = st.columns([3, 2], gap="large")  # the live panel in view beside the form
    below = st.container()
    with form:
        train_form(data)
        status = st.container(key="start_status")  # the run's one-line status, under Start training
    with below:
        runs_table()
        share_panel()
        class_digits_panel()
    # Last in the script, though drawn beside the form: the browser asks for the panel's first
    # refresh the moment it learns of it, and a request that arrives while this run still has work
    # left (the runs table, its baselines) found the fragment gone and the panel froze.
    with live:
        live_training()
    with status:
        start_status()


guarded(view_train)(get_digits())
