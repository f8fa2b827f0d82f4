"""The Learn page: short lessons, each a live experiment on this page and in this session —
a question, a few controls, the result, and what to look for."""

from __future__ import annotations

import numpy as np
import streamlit as st

from denoiser import add_noise
from denoiser.digits.noise import NOISE_KINDS
from denoiser.models.files import ModelFileError, model_dir
from denoiser.results.compare import compare, describe, metric_caption
from denoiser.results.grid import digit_grid, png_bytes
from denoiser.results.metrics import psnr, ssim
from denoiser.teaching.experiments import (
    CODE_SIZES,
    CONTEXT,
    OPTIMISERS,
    lessons_dir,
    metric_examples,
    recorded_curves,
)
from denoiser.teaching.lesson import lesson_markdown
from ui.alt_text import described_image
from ui.charts import bar_chart, code_scatter, latent_points, line_chart
from ui.common import guarded
from ui.layout import grid_style
from ui.loaders import directory_model, get_digits, shipped_model
from ui.state import get_model

#: Lesson key -> title, in teaching order.
LESSONS = {
    "bottleneck": "Noise and the bottleneck",
    "codes": "Code size",
    "optimisers": "The tutorial's optimiser",
    "unseen": "Noise it never saw",
    "context": "Whole-digit context",
    "metrics": "PSNR, SSIM and dB",
    "pca": "The code space (PCA)",
    "shift": "Other people's handwriting",
}
DIGITS = 4  # digits per experiment


def lesson_models(names) -> dict:
    """The lesson's models by name; a missing one is named once on the page and left out."""
    found = {}
    for name in names:
        try:
            found[name] = directory_model(name, str(lessons_dir()))
        except ModelFileError as err:
            st.warning(f"Lesson model **{name}** is unavailable ({err}); rebuild them with "
                       "`scripts/train_lessons.sh`.")
    return found


def lesson_digits() -> tuple[np.ndarray, list[str]]:
    """The lesson's test digits: the same in every lesson until *New digits* is pressed."""
    data = get_digits()
    images, labels = data.sample(DIGITS, None, seed=st.session_state.setdefault("l_seed", 0))
    return images, [f"digit {label}" for label in labels]


def new_digits_button() -> None:
    if st.button("New digits", key="l_new", help="Other test digits for every lesson."):
        st.session_state.l_seed = st.session_state.get("l_seed", 0) + 1


def kept_slider(label: str, low, high, step, key: str, default, help: str):
    """A slider whose value stays while other lessons are on screen (its key is in ui.state's
    PERSISTENT; the default goes into the session's state, not the widget, so none is given twice)."""
    st.session_state.setdefault(key, default)
    return st.slider(label, low, high, step=step, key=key, help=help)


def amount_slider(key: str, default: float = 0.5) -> float:
    return kept_slider("Noise amount", 0.0, 1.0, 0.05, key, default,
                       help="How strong the noise is: 0 none, 0.5 the tutorial's Gaussian setting.")


def show_rows(clean, captions, noisy, models: dict) -> dict[str, float]:
    """The result picture (noisy, each model, clean) and each row's mean PSNR by name."""
    result = compare(clean, captions, noisy, {name: m.denoise for name, m in models.items()})
    picture = digit_grid(result.rows, **grid_style())
    described_image(f"rows-{st.session_state.lesson}", png_bytes(picture),
                    describe(result),
                    output_format="PNG", width=picture.shape[1],
                    caption=f"Rows: {', '.join(result.labels)}. Under each digit: PSNR in dB (higher is "
                            "better) · SSIM (1 = identical to clean).")
    names = ["noisy input", *models]
    return {name: m["psnr"] for name, m in zip(names, result.means)}


def go_button(label: str, page: str, settings: dict, help: str) -> None:
    """A button that sets up another view exactly as it says and opens it, in this session."""
    if st.button(label, help=help, icon=":material/arrow_forward:"):
        for key, value in settings.items():
            st.session_state[key] = value
        st.switch_page(f"ui/{page}.py")


def question(text: str) -> None:
    st.markdown(f"## {text}")


def look_for(text: str) -> None:
    st.info(text, icon=":material/visibility:")


# ---------------------------------------------------------------- the lessons
def lesson_bottleneck() -> None:
    question("Why does squeezing a digit through 32 numbers remove its noise?")
    st.markdown("**What is an autoencoder?** A network trained to give back its own input through a "
                "narrow middle layer, the **code**. The tutorial's encoder squeezes 784 pixels into 32 "
                "numbers; the decoder rebuilds the digit from them. Trained with *noisy* digits in and "
                "*clean* digits out, it can only keep what digits have in common — strokes — because "
                "32 numbers cannot hold the noise, which is different in every image.")
    amount = amount_slider("l_bottleneck_amount")
    clean, captions = lesson_digits()
    models = lesson_models(["code-32"])
    noisy = add_noise(clean, "gaussian", amount, seed=1)
    scores = show_rows(clean, captions, noisy, models)
    if "code-32" in scores:
        st.markdown(f"At Gaussian {amount:g}: the noisy digits score **{scores['noisy input']:.1f} dB**, "
                    f"the tutorial's network **{scores['code-32']:.1f} dB**.")
    look_for("Slide to 0.9: the output stays clean, but some digits come back as another digit — the "
             "code holds *a* digit, not every pixel. Slide to 0: the output is blurrier than the "
             "clean input, so at little noise the network scores below doing nothing.")
    go_button("See it in Denoise", "denoise", {"model_name": "seed-dense", "noise_kind": "gaussian",
                                                "amount": amount, "more_models": [], "filters": []},
              help="Open Denoise with the tutorial's network (seed-dense) at this noise.")


def lesson_codes() -> None:
    question("How many numbers does a digit need?")
    st.markdown("The same network with codes of **4, 32 and 128** numbers, trained alike (Adam, 30 "
                "epochs, Gaussian 0.5), cleaning the same noisy digits.")
    amount = amount_slider("l_codes_amount")
    clean, captions = lesson_digits()
    models = lesson_models(CODE_SIZES)
    scores = show_rows(clean, captions, add_noise(clean, "gaussian", amount, seed=1), models)
    bar_chart(scores, "mean PSNR (dB)", height=40 * len(scores))
    look_for("Code 4 draws every digit as a smooth, average-looking shape: four numbers name roughly "
             "*which* digit, not how it was written. Code 128 keeps the writer's style. Now slide to "
             "0.1: all three score below the noisy input — squeezing loses detail, and with little "
             "noise that costs more than the noise itself.")
    go_button("Train code size 4 yourself", "train",
              {"t_arch": "dense", "t_code": 4, "t_layers": 1, "t_opt": "adam", "t_lr": 1e-3},
              help="Open Train with a dense network and a code of 4 numbers.")


def lesson_optimisers() -> None:
    question("Why does the tutorial's recipe learn almost nothing under Keras 3?")
    st.markdown("The tutorial compiles with `optimizer='adadelta'`. In Keras 3 that means a learning "
                "rate of 0.001 (the original Adadelta used 1.0), so each step barely moves the weights. "
                "Both curves below are the same network on the same data; only the optimiser differs "
                "(recorded when the lesson models were trained).")
    curves = recorded_curves(OPTIMISERS)
    if curves:
        import pandas as pd

        table = pd.DataFrame({label: pd.Series(values, index=range(1, len(values) + 1))
                              for label, values in curves.items()})
        line_chart(table, "epoch", "validation loss", height=300)
    amount = amount_slider("l_opt_amount")
    clean, captions = lesson_digits()
    models = lesson_models(OPTIMISERS)
    show_rows(clean, captions, add_noise(clean, "gaussian", amount, seed=1), models)
    look_for("Adadelta's loss is still flat after 30 epochs and its output is a grey blur for every "
             "digit: the weights have hardly moved from their random start. Adam adapts each "
             "weight's step size and is reading digits after one epoch.")
    go_button("Train with adadelta yourself", "train",
              {"t_arch": "dense", "t_code": 32, "t_layers": 1, "t_opt": "adadelta", "t_lr": 1.0},
              help="Open Train with adadelta at its original learning rate of 1.0 — does it learn now?")


def lesson_unseen() -> None:
    question("What does a model do with noise it never saw?")
    st.markdown("**unet-gaussian** was trained only on Gaussian noise at 0.5; **blind** on all five kinds "
                "at every strength. Pick another kind of noise.")
    c1, c2 = st.columns(2)
    kinds = [k for k in NOISE_KINDS if k != "gaussian"]
    st.session_state.setdefault("l_unseen_kind", "masking")
    kind = c1.selectbox("Noise kind", kinds, key="l_unseen_kind",
                        help="; ".join(f"{k}: {v}" for k, v in NOISE_KINDS.items() if k != "gaussian"))
    with c2:
        amount = amount_slider("l_unseen_amount")
    clean, captions = lesson_digits()
    models = {name: m for name in ("unet-gaussian", "blind") if (m := get_model(name)) is not None}
    scores = show_rows(clean, captions, add_noise(clean, kind, amount, seed=1), models)
    if "unet-gaussian" in scores:
        gap = scores["unet-gaussian"] - scores["noisy input"]
        verdict = "below" if gap < 0 else "above"
        st.markdown(f"Here the Gaussian specialist scores **{scores['unet-gaussian']:.1f} dB**, "
                    f"{abs(gap):.1f} dB {verdict} the noisy input ({scores['noisy input']:.1f} dB)"
                    + (f"; blind **{scores['blind']:.1f} dB**." if "blind" in scores else "."))
    look_for("Masking at 0.5 or speckle at 0.1: the specialist scores *below the noisy input* — it "
             "'removes' Gaussian noise that is not there and leaves the holes. A model learns the "
             "noise it is shown; blind was shown every kind.")


def lesson_context() -> None:
    question("Does it help to see the whole digit?")
    st.markdown("A convolution looks at a 3×3 neighbourhood; stacked, a small U-Net still judges each "
                "pixel from its surroundings. **Whole-digit context** adds one dense layer across the "
                "7×7 bottleneck, so a faint stroke can be judged knowing which digit it belongs to. "
                "Two small U-Nets (width 8), trained alike; only the context differs.")
    amount = amount_slider("l_context_amount", 0.7)
    clean, captions = lesson_digits()
    models = lesson_models(CONTEXT)
    scores = show_rows(clean, captions, add_noise(clean, "gaussian", amount, seed=1), models)
    if len(scores) == 3:
        st.markdown(f"Mean PSNR: without context **{scores['context-0']:.2f} dB**, with "
                    f"**{scores['context-64']:.2f} dB**.")
    look_for("The gap grows with the noise — small at 0.1, largest around 0.7, where the noise hides "
             "whole strokes: with context a broken stroke is joined the way that digit is written.")
    go_button("Train a U-Net with context", "train",
              {"t_arch": "unet", "t_filters": 8, "t_context": 64, "t_epochs": 3},
              help="Open Train with a small U-Net with whole-digit context (slower: minutes).")


def lesson_metrics() -> None:
    question("What do the numbers under each digit mean?")
    st.markdown(
        "**PSNR** (peak signal-to-noise ratio) compares pixel by pixel: with MSE the mean squared "
        "difference from the clean digit (pixels in 0–1), PSNR = 10·log10(1 / MSE). It is in "
        "**decibels (dB)**, a log scale: **+10 dB means 10× less squared error, +3 dB about half**. "
        "**SSIM** (structural similarity) compares small windows instead — their brightness, "
        "contrast and pattern — and is 1 for identical images.")
    strength = kept_slider("How much each change", 0.0, 1.0, 0.05, "l_metrics_strength", 0.5,
                           help="Every change below grows with this.")
    clean, captions = lesson_digits()
    changed = metric_examples(clean, strength)
    rows = [(label, images, list(map(metric_caption, psnr(clean, images), ssim(clean, images))))
            for label, images in changed.items()]
    picture = digit_grid([*rows, ("Clean", clean, captions)], **grid_style())
    means = {label: float(psnr(clean, images).mean()) for label, images in changed.items()}
    described_image("metric-examples", png_bytes(picture),
                    f"The same {len(clean)} digits changed in four ways, a row each, over the clean row. "
                    + "; ".join(f"{label}: mean {db:.1f} dB" for label, db in means.items()) + ".",
                    output_format="PNG", width=picture.shape[1])
    shift = next(label for label in means if label.startswith("Shifted"))
    dim = next(label for label in means if label.startswith("Dimmed"))
    st.markdown("Mean PSNR here: "
                + ", ".join(f"{label.lower()} **{v:.1f} dB**" for label, v in means.items()) + ".")
    look_for(f"The shifted digit is the same digit, yet it scores {means[shift]:.1f} dB against "
             f"{means[dim]:.1f} dB for the dimmed one: PSNR punishes every misplaced pixel. SSIM "
             "forgives an even change of brightness more than noise that breaks the pattern. Neither "
             "is the eye — look at the digits, not only the numbers.")


def lesson_pca() -> None:
    question("What do the 32 numbers of a code look like?")
    st.markdown("A code has 32 dimensions — too many to draw. **PCA** (principal component analysis) "
                "finds the two directions in which the codes of many digits differ most and draws each "
                "code's position along them: PC 1 across, PC 2 up. Digits the network finds alike land "
                "close together.")
    count = kept_slider("Test digits", 100, 1000, 100, "l_pca_n", 500,
                        help="How many test digits to encode and plot.")
    models = lesson_models(["code-32"])
    if "code-32" not in models:
        return
    data = get_digits()
    count = min(count, len(data.x_test))
    coords, explained = latent_points(models["code-32"], data, count)
    code_scatter(coords, data.y_test[:count], height=360)
    st.caption(f"The two components explain {explained.sum():.0%} of the codes' variance; the other "
               f"{1 - explained.sum():.0%} is in the 30 directions not drawn.")
    look_for("Ones form a tight cluster (one stroke, little variety); 4s, 7s and 9s overlap (they differ "
             "in one small loop or bar), which is why a noisy 4 sometimes comes back as a 9.")
    go_button("Explore the code space", "explore", {"latent_model": "seed-dense"},
              help="Open Explore's latent space with the tutorial's network.")


def other_digits():
    """The lesson's other handwriting and its name on the Explore and Train pages: the first set
    :func:`denoiser.teaching.handwriting.other_handwriting` offers (a class's digits when a
    collection holds some, else the UCI optical digits shipped with the app)."""
    from denoiser.teaching.handwriting import other_handwriting

    name, load = next(iter(other_handwriting().items()))
    return load(), name


def lesson_shift() -> None:
    from denoiser.results.shift import measure_shift

    question("Does a model trained on MNIST clean other people's handwriting?")
    theirs, set_name = other_digits()
    st.markdown("MNIST's digits were written by US census workers and students in the 1990s. Every "
                "model here learned from them alone. Below: the same noise on MNIST's digits and on "
                f"**{theirs.description}** — the same models.")
    amount = amount_slider("l_shift_amount")
    models = {name: m for name in ("conv", "blind") if (m := get_model(name)) is not None}
    images, labels = theirs.sample(DIGITS, None, seed=st.session_state.setdefault("l_seed", 0))
    st.markdown("**Their digits**")
    show_rows(images, [f"digit {label}" for label in labels], add_noise(images, "gaussian", amount, seed=1),
              models)
    data = get_digits()
    count = min(200, len(theirs.x_test), len(data.x_test))
    sets = {"theirs": theirs.x_test[:count], "MNIST": data.x_test[:count]}
    if all(model is shipped_model(name) for name, model in models.items()):  # as for everyone
        rows = shift_scores(tuple(models), sets, amount) if models else []
    else:  # a model of this session's own under a shipped name
        rows = measure_shift({name: m.denoise for name, m in models.items()}, sets, "gaussian", amount)
    scores = {(r["method"], r["digits_of"]): r["psnr"] for r in rows}
    if rows:
        st.markdown(f"Mean PSNR over {count} digits of each set at this noise: "
                    + "; ".join(f"**{name}** {scores[name, 'theirs']:.1f} dB on theirs, "
                                f"{scores[name, 'MNIST']:.1f} dB on MNIST's"
                                for name in models) + ".")
    look_for("The models lose decibels on handwriting they never saw — other writers, another scanner. "
             "Nothing in their training said what these digits look like: a model knows its data. "
             "The cure is to show it some: fine-tune on a part and measure on the rest.")
    c1, c2 = st.columns(2)
    with c1:
        go_button("Fine-tune conv on them", "train",
                  {"t_start_from": "conv", "t_extra": set_name, "t_epochs": 3},
                  help="Open Train starting from the shipped conv model, with these digits added "
                       "(a third held out to measure before and after).")
    with c2:
        go_button("Measure every model", "explore", {"shift_set": set_name},
                  help="Open Explore's Other handwriting with these digits.")


@st.cache_data(show_spinner="Measuring both sets of digits…", max_entries=64)
def shift_scores(shipped: tuple[str, ...], sets: dict[str, np.ndarray], amount: float) -> list[dict]:
    """Lesson 8's mean scores of shipped models: measured once per digits and amount for the
    whole class, not again at every student's rerun."""
    from denoiser.results.shift import measure_shift

    return measure_shift({name: shipped_model(name).denoise for name in shipped}, sets, "gaussian", amount)


VIEWS = {"bottleneck": lesson_bottleneck, "codes": lesson_codes, "optimisers": lesson_optimisers,
         "unseen": lesson_unseen, "context": lesson_context, "metrics": lesson_metrics, "pca": lesson_pca,
         "shift": lesson_shift}


def step(by: int) -> None:
    keys = list(LESSONS)
    st.session_state.lesson = keys[(keys.index(st.session_state.get("lesson") or keys[0]) + by) % len(keys)]


@guarded
def view_learn() -> None:
    keys = list(LESSONS)
    if st.session_state.get("lesson") not in keys:
        st.session_state.lesson = keys[0]
    st.segmented_control("Lesson", keys, key="lesson", required=True,
                         format_func=lambda k: f"{keys.index(k) + 1}. {LESSONS[k]}",
                         help="Eight short experiments; each keeps its settings while you move between them.")
    lesson = st.session_state.lesson
    guarded(VIEWS[lesson])()
    c1, c2, c3 = st.columns([1, 1, 4])
    c1.button("Previous", on_click=step, args=(-1,), icon=":material/arrow_back:",
              help="The lesson before this one.")
    c2.button("Next", on_click=step, args=(1,), icon=":material/arrow_forward:",
              help="The next lesson.")
    with c3:
        new_digits_button()
    with st.expander("The whole story in one page (with the measured figures)"):
        st.markdown(lesson_markdown(models_dir=model_dir()))


view_learn()
