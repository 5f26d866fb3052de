"""`python -m core.review rank SOURCE ...`: see core.review.cli."""

import sys

from core.review.cli import main

sys.exit(main())
