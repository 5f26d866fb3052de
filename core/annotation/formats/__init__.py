"""Annotation and category file formats: seed JSON, COCO, Pascal VOC, YOLO, category lists."""
