"""The Explore page: a noise sweep of models and filters, and a model's latent space."""

from __future__ import annotations

import numpy as np
import streamlit as st

from denoiser.digits.noise import NOISE_KINDS
from denoiser.results.classical import CLASSICAL
from denoiser.results.grid import enlarge
from denoiser.teaching.handwriting import other_handwriting
from ui.alt_text import described_image
from ui.charts import code_scatter, latent_points, line_chart
from ui.common import SCALE, guarded
from ui.loaders import get_digits
from ui.state import get_model, model_choices


def view_explore(data) -> None:
    import pandas as pd

    choices = model_choices()
    st.header("Noise sweep")
    st.markdown("How quality falls as noise grows, for models and classical filters on the same digits.")
    with st.form("sweep"):
        c1, c2 = st.columns(2)
        names = c1.multiselect("Models", list(choices), default=list(choices)[:2], key="sweep_models",
                               help="Autoencoders to measure.")
        filters = c2.multiselect("Classical filters", list(CLASSICAL), default=["median"],
                                 key="sweep_filters", help="Non-learned denoisers to measure.")
        c1, c2 = st.columns(2)
        kind = c1.selectbox("Noise kind", list(NOISE_KINDS), key="sweep_kind", help="The noise to sweep.")
        n = c2.slider("Test digits", 20, 500, 100, 20, key="sweep_n",
                      help="Digits per point: more is smoother but slower.")
        go = st.form_submit_button("Run sweep", help="Measure PSNR and SSIM at amounts 0.1 to 0.9.")
    if go:
        from denoiser.results.evaluation import EVAL_SEED, evaluate_table, methods_to_compare

        models = {name: model for name in names if (model := get_model(name)) is not None}
        methods = methods_to_compare({name: m.denoise for name, m in models.items()}, filters)
        amounts = [round(a, 1) for a in np.arange(0.1, 0.95, 0.1)]
        with st.spinner("Measuring…"):
            rows = evaluate_table(methods, data.x_test[:n], [kind], amounts, seed=EVAL_SEED)
        st.session_state.sweep_result = pd.DataFrame(rows)
    sweep = st.session_state.get("sweep_result")
    if sweep is not None:
        c1, c2 = st.columns(2)
        for col, metric, label in ((c1, "psnr", "PSNR (dB)"), (c2, "ssim", "SSIM")):
            table = sweep.pivot(index="amount", columns="method", values=metric)
            col.markdown(f"**{label} against noise amount** ({sweep['kind'].iloc[0]})")
            with col:
                line_chart(table, "noise amount", label, height=320)

    shift_section(data, choices)

    st.header("Latent space")
    coded = [n for n in choices if (m := get_model(n)) is not None and m.has_code]
    if not coded:
        st.info("No model with a bottleneck code is available (the U-Nets have none).")
        return
    c1, c2 = st.columns(2)
    name = c1.selectbox("Model with a code", coded, key="latent_model",
                        help="Codes of test digits, projected to 2-D with PCA and coloured by digit.")
    count = c2.slider("Digits to plot", 100, min(2000, len(data.x_test)), min(1000, len(data.x_test)), 100,
                      key="latent_n", help="How many test digits to encode.")
    model = get_model(name)
    coords, explained = latent_points(model, data, count)
    code_scatter(coords, data.y_test[:count], height=420)
    st.caption("Each point is one test digit's code. PC 1 and PC 2 are the two directions in which "
               f"the codes differ most (principal components), explaining {explained.sum():.0%} of "
               "their variance: digits the model finds alike sit close together.")
    st.markdown("**Walk from one digit to another through the code**")
    ends = []
    for column, side, default in zip(st.columns(2), ("From", "To"), (3, 8)):
        c1, c2 = column.columns(2)
        digit = c1.selectbox(f"{side} digit", range(10), index=default, key=f"interp_{side.lower()}",
                             help=f"The class of the walk's {'start' if side == 'From' else 'end'}.")
        examples = np.flatnonzero(data.y_test == digit)
        pick = c2.slider(f"{side}: which example", 1, min(20, len(examples)), 1,
                         key=f"interp_{side.lower()}_n", help="Which test digit of that class.")
        ends.append(data.x_test[examples[pick - 1]])
    steps = st.slider("Steps", 3, 12, 8, key="interp_steps", help="Images along the way.")
    from denoiser.results.latent import interpolate

    with st.spinner("Decoding (the first walk with a model prepares its decoder: a few seconds)…"):
        path = interpolate(model, ends[0], ends[1], steps)
    share = np.linspace(0, 1, steps)
    described_image("latent-walk", [enlarge(img, SCALE) for img in path],
                    [f"Decoded from the code {t:.0%} of the way from the first digit's code to the "
                     "second's." for t in share],
                    width=28 * SCALE, output_format="PNG", caption=[f"{t:.0%}" for t in share])


def shift_section(data, choices) -> None:
    """Models and filters on other handwriting against MNIST's test digits, at one noise."""
    st.header("Other handwriting")
    st.markdown("Are the models as good on handwriting they never saw? The same noise on MNIST's test "
                "digits and on another set — your class's digits or the UCI optical digits — side by side.")
    sets = other_handwriting()
    with st.form("shift"):
        c1, c2, c3 = st.columns(3)
        names = c1.multiselect("Models", list(choices), default=list(choices)[:2], key="shift_models",
                               help="Autoencoders to measure on both sets.")
        filters = c2.multiselect("Classical filters", list(CLASSICAL), default=["median"],
                                 key="shift_filters", help="Non-learned denoisers: they know no handwriting.")
        other = c3.selectbox("Other digits", list(sets), key="shift_set",
                             help="The class's collections (opened by the teacher) and the UCI optical "
                                  "digits (43 writers, framed like MNIST; CC BY 4.0).")
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox("Noise kind", list(NOISE_KINDS), key="shift_kind", help="The same for both sets.")
        amount = c2.slider("Amount", 0.05, 1.0, 0.5, 0.05, key="shift_amount",
                           help="Noise strength; 0.5 Gaussian is the tutorial's.")
        n = c3.slider("Digits per set", 20, 500, 200, 20, key="shift_n",
                      help="At most this many of each set (a class may have fewer).")
        go = st.form_submit_button("Measure",
                                   help="Mean PSNR and SSIM with their spread, and the worst digits.")
    if go:
        from denoiser.results.evaluation import methods_to_compare
        from denoiser.results.shift import measure_shift

        theirs = sets[other]()
        methods = methods_to_compare({name: model.denoise for name in names
                                      if (model := get_model(name)) is not None}, filters)
        picked = {other: theirs.x_test[:n], "MNIST test": data.x_test[:n]}
        with st.spinner("Measuring…"):
            rows = measure_shift(methods, picked, kind, amount)
        st.session_state.shift_result = (rows, picked, theirs.description)
    if st.session_state.get("shift_result"):
        from denoiser.results.shift import shift_markdown

        rows, picked, description = st.session_state.shift_result
        st.markdown(shift_markdown(rows))
        st.caption(f"Other digits: {description}. Mean ± standard deviation over the digits; "
                   "worst digits: their place in the set, worst first.")
        for row in rows[2:4]:  # the first method after the noisy input: its worst digits in each set
            worst = picked[row["digits_of"]][row["worst"]]
            described_image(f"shift-worst-{row['digits_of']}", [enlarge(d, 3) for d in worst],
                            [f"One of the {row['digits_of']} digits {row['method']} cleaned worst."
                             for _ in worst], width=28 * 3, output_format="PNG",
                            caption=[f"{row['digits_of']} #{i}" for i in row["worst"]])


guarded(view_explore)(get_digits())
