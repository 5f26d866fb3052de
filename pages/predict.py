"""Predict: find every face in uploaded images (or a workspace folder) and classify each one.

Thin: the sidebar picks the model, backend and threshold (app/widgets/model_picker, as on Live) and
the detector; the main area shows each image with its faces, the results table and CSV, and sends
an image with its predicted boxes to the annotator (app/predict/results). The pipeline is
core.inference.predictor.Predictor, the same one Live and the annotator use.
"""

from __future__ import annotations

import streamlit as st

from app.predict.results import choose_images, legend, predict_all, results_table, show_results
from app.widgets.common import show_error, show_flashes, use_app_navigation
from app.widgets.draw import threshold_figure
from app.widgets.faces import detector_choice
from app.widgets.model_picker import choose_model, choose_threshold, show_model, threshold_curve
from app.widgets.target_project import project_target
from core.errors import MaskStudioError
from core.inference.predictor import Predictor
from core.runs.thresholds import plain_summary
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector

use_app_navigation()


def main() -> None:
    st.title("Predict")
    show_flashes()
    choice = choose_model("pred", uploads=True, backends=True)
    detector_name = detector_choice("pred_detector", DEFAULT_PREDICT_DETECTOR, sidebar=True)
    report, why = threshold_curve(choice)
    threshold = choose_threshold("pred", choice, report, why)
    labels = choice.labels
    target = project_target("pred_send", "predictions", "Send to annotator", "Project", labels)
    show_model(choice)
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
    table = show_results(results, labels, threshold, target)
    results_table(table, labels)


main()
