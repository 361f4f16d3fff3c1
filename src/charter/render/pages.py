"""Pages from Jinja2 templates, and the stylesheet every printed report starts from.

``report.css`` holds what the model card and the Clarify report share: the colours,
A4 pages with a page count, the type, tables and figures.  A template embeds it with
``<style>{{ stylesheet }}</style>`` (pages stand alone: no linked files) and adds its
own rules after it, which win where they differ.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

__all__ = ["environment", "stylesheet"]

_CSS = Path(__file__).with_name("report.css")


@lru_cache(maxsize=None)
def environment(templates: Path) -> jinja2.Environment:
    """The Jinja2 environment for one template folder (HTML autoescaped, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def stylesheet() -> Markup:
    """The report stylesheet, ready to embed in a ``<style>`` element."""
    return Markup(_CSS.read_text(encoding="utf-8"))
