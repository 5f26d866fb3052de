"""Predict: find every face in uploaded images (or a workspace folder) and classify each one.

Thin: the sidebar picks the model, backend, detector and threshold (app/ui/predict_model), the
main area shows each image with its faces, the results table and CSV, and sends an image with
its predicted boxes to the annotator (app/ui/predict_results). The pipeline is
core.inference.predictor.Predictor, the same one Live and the annotator use.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.ui.common import show_error, show_flashes  # noqa: E402
from app.ui.predict_draw import threshold_figure  # noqa: E402
from app.ui.predict_model import (  # noqa: E402
    choose_detector,
    choose_model,
    choose_threshold,
    threshold_report,
)
from app.ui.predict_results import SendTarget, choose_images, legend, predict_all, results_table, show_results  # noqa: E402
from core.errors import MaskStudioError  # noqa: E402
from core.inference.predictor import Predictor  # noqa: E402
from core.runs.thresholds import plain_summary  # noqa: E402
from core.vision.detectors import get_detector  # noqa: E402


def main() -> None:
    st.title("Predict")
    show_flashes()
    choice = choose_model()
    detector_name = choose_detector()
    report, why = threshold_report(choice)
    threshold = choose_threshold(choice, report)
    labels = choice.classifier.labels if choice.classifier is not None else ()
    send = SendTarget(labels)
    if choice.classifier is None:
        st.info("Finding faces only: choose a model in the sidebar to classify them.")
    else:
        st.caption(f"Model: {choice.classifier.describe()}")
    with st.expander("Threshold: accuracy vs coverage", expanded=False):
        if report is None:
            st.write(why)
        else:
            st.plotly_chart(threshold_figure(report, threshold), key="pred_curve")
            st.markdown(plain_summary(report.suggestion))
            st.caption(f"How it is chosen: {report.suggestion.rule}.")
    items = choose_images()
    if not items:
        st.write("Upload images (or pick a workspace folder) to find and classify their faces.")
        return
    try:
        predictor = Predictor(get_detector(detector_name), choice.classifier, 0.0)
    except MaskStudioError as exc:
        show_error(exc)
        return
    results = predict_all(items, predictor, choice.key, detector_name)
    legend(labels)
    table = show_results(results, labels, threshold, send)
    results_table(table, labels)


main()
