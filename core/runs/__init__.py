"""The run store: run folders, configs, experiments, thresholds, exports, the starter model."""
