"""The models every room runs: face detectors and the classifier runtime."""
