"""Datasets: folder layout, building crops, fingerprints, health, split, manifest, provenance."""
