"""``GET /`` unsigned: what this server is and how to point a client at it.

A browser (``Accept: text/html``, :func:`wants_html`) is sent on to the web
console at ``/console/``; anything else (curl, a script) gets these facts as
JSON.  Nothing here needs a signature or touches the database, and nothing
secret is shown: the keys are where the server's start-up output said.
"""

from __future__ import annotations

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
        "console": f"{endpoint}/console/",
        "console_note": "The web console: sign in as an IAM user with a console password "
        "(charter iam set-password USER, or the IAM API's CreateLoginProfile).",
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


def render(settings: Settings, endpoint: str) -> tuple[str, bytes]:
    """(content type, body) of the landing document."""
    return "application/json", json.dumps(facts(settings, endpoint), indent=2).encode()
