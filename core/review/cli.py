"""The review queue's command line:

    python -m core.review rank SOURCE [--model RUN_ID|starter] [--limit N] [--seed S] [--share F] [--save]

SOURCE is a project name of the workspace or an image folder (or "snapshots" / "sends").
Prints ONE JSON object, {"faces": [{"image", "xyxy", "priority", "guess", "confidence",
"why"}, ...]}, the faces in review order (not reviewed yet). Bad input: `error: ...` on stderr
and exit status 2, nothing written. The queue is saved in the workspace only with --save.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.errors import MaskStudioError
from core.review.queue import build_queue
from core.review.scores import RANDOM_SHARE
from core.review.sources import parse_source


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def rank_json(
    source: str, model: str | None = None, limit: int | None = None, **options: Any
) -> dict[str, Any]:
    """The command's JSON object for `source` (ReviewError and other MaskStudioError on bad input)."""
    queue = build_queue(parse_source(source), model, **options)
    faces = [
        {
            "image": e.image,
            "xyxy": [round(float(v), 1) for v in e.xyxy],
            "priority": round(e.priority, 4),
            "guess": e.guess,
            "confidence": round(e.confidence, 4),
            "why": list(e.why),
        }
        for e in queue.pending()
    ]
    return {"faces": faces[:limit] if limit else faces}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: prints one JSON object, or `error: ...` and returns 2."""
    parser = argparse.ArgumentParser(prog="python -m core.review", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rank = sub.add_parser("rank", help="rank a source's faces for review and print them as JSON")
    rank.add_argument("source", help="a project name or an image folder")
    rank.add_argument("--model", default=None, help="a run id or 'starter' (default: the active model)")
    rank.add_argument("--limit", type=_positive, default=None, help="print at most N faces")
    rank.add_argument("--seed", type=int, default=0, help="seed of the random share (default 0)")
    rank.add_argument(
        "--share", type=_share, default=RANDOM_SHARE, help=f"random share (default {RANDOM_SHARE})"
    )
    rank.add_argument("--save", action="store_true", help="also save the queue in the workspace")
    args = parser.parse_args(argv)
    try:
        out = rank_json(args.source, args.model, args.limit, seed=args.seed, share=args.share, save=args.save)
    except MaskStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out), flush=True)
    return 0
