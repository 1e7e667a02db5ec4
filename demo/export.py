"""Write the animation as a standalone page: ``python -m demo.export docs/particles.html``.

The page needs no server and no network: the players (:mod:`demo.animation`)
carry their data and their script. It shows weight sharing on the app's default
preset (d = 1000 normal weights, λ = 1) and OSCAR, a member of the family with
its wall at 0, on 300 of them.

>>> page = standalone_page(d=20, family_d=10)
>>> page.startswith("<!doctype html>") and page.count('class="wsp-root"')
2
"""
from __future__ import annotations

import argparse
import html
from pathlib import Path

from particles import simulate

from . import animation, inputs
from .penalties import build_path

__all__ = ["standalone_page", "main"]

_INTRO = """<h1>Weight-sharing regularization as a particle system</h1>
<p>The prox of R(w) = 1/(d−1) Σ<sub>i&gt;j</sub> |w<sub>i</sub> − w<sub>j</sub>| moves each
weight like a particle that every other weight pulls with the same force; particles that meet
stick together. <b>Time is λ</b>: the particles at time t sit at prox<sub>tR</sub>(w). Press
▶ Play or move the time slider (the arrow keys step it): everything runs in this page, and
every picture is the exact state at its time.</p>"""


def standalone_page(*, d: int = 1000, lam: float = 1.0, seed: int = 0,
                    family_d: int = 300) -> str:
    """The page's HTML: an introduction, the WSR player, and the OSCAR player."""
    w = inputs.make_preset("Random normal", d, seed=seed)
    wsr = animation.wsr_animation(simulate(w), lam).html(element_id="wsp-wsr")
    oscar = animation.penalty_animation(build_path("OSCAR", w[:family_d]), lam)
    family = oscar.html(element_id="wsp-oscar")
    title = "Weight sharing as particles"
    return (
        f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>body {{max-width: 1300px; margin: 16px "
        "auto; padding: 0 16px; font-family: system-ui, sans-serif; color: #262730}} "
        "h1 {font-size: 24px} h2 {font-size: 18px; margin-top: 28px}</style></head><body>"
        f"{_INTRO}<h2>Weight sharing R: {d:,} normal weights, λ = {lam:g}</h2>{wsr}"
        f"<h2>OSCAR (the family, with a wall at 0): the first {min(family_d, d):,} of them"
        f"</h2>{family}</body></html>\n"
    )


def main(argv=None) -> Path:
    """Write the page to the path given on the command line; return the path."""
    parser = argparse.ArgumentParser(prog="python -m demo.export", description=__doc__.split(
        "\n")[0])
    parser.add_argument("path", type=Path, help="the HTML file to write")
    parser.add_argument("--d", type=int, default=1000, help="number of weights (default 1000)")
    parser.add_argument("--lam", type=float, default=1.0, help="λ (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default 0)")
    args = parser.parse_args(argv)
    page = standalone_page(d=args.d, lam=args.lam, seed=args.seed)
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(page, encoding="utf-8")
    print(f"wrote {args.path} ({len(page.encode()) / 1e6:.2f} MB)")
    return args.path


if __name__ == "__main__":
    main()
