"""HTML to PDF, by WeasyPrint (imported on first use: it is a heavy optional part)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["html_to_pdf"]


def html_to_pdf(html: str, base_url: str | Path) -> bytes:
    """``html`` as a PDF document; relative links in it resolve against ``base_url``.

    The page size and margins come from the page's own CSS (``@page``): the report
    stylesheet (:func:`charter.render.pages.stylesheet`) sets A4.
    """
    import weasyprint

    return weasyprint.HTML(string=html, base_url=str(base_url)).write_pdf()
