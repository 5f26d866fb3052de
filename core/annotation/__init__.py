"""Annotation projects: boxes, categories, the canvas, file formats, pre-annotation."""
