"""``GET /`` for a person: what this server is and how to point a client at it.

A browser (``Accept: text/html``) gets a short page; anything else the same
facts as JSON.  Nothing here needs a signature or touches the database, and
nothing secret is shown: the keys are where the server's start-up output said.
"""

from __future__ import annotations

import html
import json

from .. import __version__
from ..settings import Settings

API_REFERENCE = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/Welcome.html"


def facts(settings: Settings, endpoint: str) -> dict:
    """The landing document: the server, its defaults, and the client set-up."""
    return {
        "service": "Charter",
        "description": "Self-hosted ML governance that speaks the SageMaker API (boto3, the AWS CLI, the SageMaker SDK).",
        "version": __version__,
        "account": settings.account_id,
        "region": settings.region,
        "endpoint_url": endpoint,
        "apis": {
            "sagemaker": "POST / with X-Amz-Target: SageMaker.<Operation> (JSON 1.1)",
            "sagemaker-runtime": "POST /endpoints/<EndpointName>/invocations (and /async-invocations, /invocations-response-stream)",
        },
        "client_setup": {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_PROFILE": "charter",
            "credentials": "printed once at the first start and written on the server to CHARTER_HOME/credentials "
            "(profile charter), with CHARTER_HOME/config beside it (region and endpoint_url); export "
            "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE to those files",
        },
        "example": f"aws --endpoint-url {endpoint} --region {settings.region} sagemaker list-model-package-groups",
        "console": None,
        "console_note": "This server has no web console yet; the charter command (charter --help) administers it.",
        "health": "/health",
        "docs": {
            "readme": "README.md in the Charter source tree",
            "coverage": "docs/coverage.md in the source tree: which operations Charter implements",
            "sagemaker_api_reference": API_REFERENCE,
        },
        "requests": "Every API request must be signed with AWS Signature Version 4; unsigned ones are refused.",
    }


def wants_html(accept: str) -> bool:
    """True when the client prefers a page (a browser) to JSON."""
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            return True
        if media in ("application/json", "*/*"):
            return False
    return False


def render(settings: Settings, endpoint: str, accept: str) -> tuple[str, bytes]:
    """(content type, body) of the landing answer for this ``Accept`` header."""
    document = facts(settings, endpoint)
    if not wants_html(accept):
        return "application/json", json.dumps(document, indent=2).encode()
    e = html.escape
    setup = document["client_setup"]
    exports = "\n".join(f"export {name}={e(setup[name])}" for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_PROFILE"))
    apis = "".join(f"<li><b>{e(name)}</b>: {e(text)}</li>" for name, text in document["apis"].items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Charter {e(document['version'])}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#1d2430}}
code,pre{{background:#f2f4f7;border-radius:4px}}pre{{padding:.8rem;overflow-x:auto}}h1{{margin-bottom:0}}</style></head>
<body>
<h1>Charter</h1>
<p>{e(document['description'])} Version {e(document['version'])}; account {e(document['account'])}, default region {e(document['region'])}.</p>
<h2>Point a client here</h2>
<pre>{exports}
{e(document['example'])}</pre>
<p>Keys: {e(setup['credentials'])}. {e(document['requests'])}</p>
<h2>APIs on this endpoint</h2>
<ul>{apis}</ul>
<h2>Console</h2>
<p>{e(document['console_note'])}</p>
<h2>Docs</h2>
<ul><li>{e(document['docs']['readme'])}</li>
<li>{e(document['docs']['coverage'])}</li>
<li><a href="{e(API_REFERENCE)}">Amazon SageMaker API reference</a> (the operations Charter speaks)</li>
<li>Health check: <a href="/health">/health</a></li></ul>
</body></html>
"""
    return "text/html; charset=utf-8", page.encode()
