"""The web console: routes and the Jinja2 templates that fill them.

Server-rendered pages with htmx (vendored in ``static/``, see
``static/VENDORED.md``; no Node build), mounted at ``/console`` of the one
endpoint (:mod:`charter.api.app`).  A person signs in as an IAM user with a
console password and every page is authorized and audited as that user
through the API's access layer (:mod:`charter.console.app`); the pages and the
IAM action each needs are :mod:`charter.console.pages`.

What the console shares with the built-ins and the export jobs (a model card as a
page, charts, the report stylesheet, PDFs) lives in :mod:`charter.render`, which
the console imports; nothing below the faces imports this package.
"""

from __future__ import annotations


def create_console(instance, access, faces=None):
    """The console's ASGI app for ``instance``, authorizing and auditing through ``access``.

    ``faces``: the API's faces by botocore service name, which the console's views call.
    """
    from .app import Console

    return Console(instance, access, faces).app
