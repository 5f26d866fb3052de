"""Mask Studio entry point: `streamlit run home.py` (what `make run` does).

It sits in the repository root, so `streamlit run` puts the root on sys.path and every page
imports `app`, `core` and `models` as they are.

`streamlit run` finds the `st.App` below and serves this script through it, with
app.hosts.HostCheck in front: requests whose Host is not a loopback name (or one listed in
MASK_STUDIO_ALLOWED_HOSTS) are refused, websocket included. Run as the app's script, the file
is `__main__` and draws the navigation instead.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from core.live.rtc import preload_srtp
from core.workspace import workspace_root

# Whichever page loads TensorFlow first, aiortc (Live) must keep its own OpenSSL.
preload_srtp()

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# (file, title, icon); the first one is the default page.
PAGES: list[tuple[str, str, str]] = [
    ("annotate.py", "Annotate", ":material/draw:"),
    ("dataset.py", "Datasets", ":material/dataset:"),
    ("experiments.py", "Experiments", ":material/science:"),
    ("predict.py", "Predict", ":material/photo_camera:"),
    ("live.py", "Live", ":material/videocam:"),
]


def favicon() -> Image.Image:
    """The tab icon, drawn here: a `:material/...` icon is fetched from fonts.gstatic.com, which
    fails offline (and every request must stay on this machine)."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((4, 2, 60, 62), fill="#f2c29b")  # a face
    draw.ellipse((17, 16, 25, 24), fill="#3a3a3a")
    draw.ellipse((39, 16, 47, 24), fill="#3a3a3a")
    draw.rounded_rectangle((10, 30, 54, 54), radius=9, fill="#1565c0")  # its mask
    return img


def main() -> None:
    st.set_page_config(page_title="Mask Studio", page_icon=favicon(), layout="wide")
    workspace_root()  # created on first start
    nav = st.navigation(
        [
            st.Page(str(PAGES_DIR / file), title=title, icon=icon, default=(i == 0))
            for i, (file, title, icon) in enumerate(PAGES)
        ]
    )
    nav.run()


if __name__ == "__main__":  # the app's script, run by Streamlit on every rerun
    main()
else:  # imported by `streamlit run home.py` to serve it
    from starlette.middleware import Middleware

    from app.hosts import HostCheck

    app = st.App(__file__, middleware=[Middleware(HostCheck)])
