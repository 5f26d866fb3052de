"""The review queue: which faces a person should label first (uncertainty, borderline
detections, rare classes, one face per near-duplicate cluster, a seeded random share), the queue
on disk, reviews applied to a project by box id, and retraining from the reviews."""
