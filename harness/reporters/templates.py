"""The one Jinja environment of the reports (``harness/templates``), shared by every reporter.

HTML templates (``*.html.j2``) are autoescaped; Markdown and CSS are not. Undefined names fail
loudly (a template must never print an empty gap where a figure should be).
"""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:.0f} s" if minutes else f"{secs:.1f} s"


def _markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", "")


@functools.cache
def environment() -> Environment:
    """The shared environment (made once), with the ``duration`` and ``cell`` filters."""
    env = Environment(
        loader=PackageLoader("harness", "templates"),
        autoescape=select_autoescape(["html.j2", "html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = _duration
    env.filters["cell"] = _markdown_cell
    return env


__all__ = ["environment"]
