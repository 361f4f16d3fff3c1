"""The web console: routes and the Jinja2 templates that fill them.

What the console shares with the built-ins and the export jobs (a model card as a
page, charts, the report stylesheet, PDFs) lives in :mod:`charter.render`, which
the console imports; nothing below the faces imports this package.
"""
