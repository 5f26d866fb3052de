"""Predict: detector, crop, classifier, threshold; scene evaluation; label tracking."""
