"""What the AppTest-driven tests of the app share: finding widgets, charts and the player.

``app_test`` (tests/conftest.py) is a fresh, not yet run AppTest of app.py.
"""
from __future__ import annotations

import json

from demo.animation import payload_of


def no_errors(at) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at, start: str) -> str:
    """The value of the first metric whose label starts with ``start``."""
    return next(m.value for m in at.metric if m.label.startswith(start))


def charts(at) -> dict:
    """Every Plotly chart on the page: element id -> figure spec (parsed JSON)."""
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def chart(at, key: str) -> dict:
    """The figure spec of the chart whose widget key is ``key``."""
    return next(spec for chart_id, spec in charts(at).items() if chart_id.endswith(key))


def plotly_values(array):
    """A Plotly JSON array as numpy: a plain list or a typed array ``{"dtype", "bdata"}``."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def players(at) -> list[dict]:
    """The payload of every animation player (an ``st.iframe``) on the page."""
    return [payload_of(frame.proto.srcdoc) for frame in at.get("iframe")]


def open_tab(app_test, name: str):
    """Run ``app_test`` with the tab ``name`` open (tabs run lazily)."""
    app_test.session_state["tab"] = name
    return app_test.run()


def paste(at, text: str):
    """Switch the sidebar to pasted weights and paste ``text``."""
    at.radio(key="source").set_value("Paste").run()
    return at.text_area(key="paste").input(text).run()


def array_of(payload: dict, name: str):
    """A numeric array of a player's payload, decoded (base64, little-endian)."""
    import base64

    import numpy as np

    spec = payload["arrays"][name]
    dtype = {"f8": "<f8", "f4": "<f4", "u1": "u1", "i4": "<i4"}[spec["type"]]
    return np.frombuffer(base64.b64decode(spec["b64"]), dtype=dtype)
