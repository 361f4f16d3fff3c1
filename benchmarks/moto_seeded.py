"""moto_server with a model registry already in memory: the peer for benchmarks/registry.py at full size.

moto numbers a new version by scanning every package it holds, so building a
100,000-package registry through its API costs O(n^2) and takes the better
part of an hour on a 2-core machine. That preload is not what the benchmark
compares (the measured creates run after it, against the full registry), so
this script builds the same registry inside moto's own backend before serving:
it calls moto's ``create_model_package_group`` and ``create_model_package``
with exactly the requests benchmarks/registry.py sends, in the same
round-robin order, but lets each create scan only its own group's packages
(the only ones its version count depends on). The result is the registry moto
would hold after the API preload. Then it serves it like ``moto_server``.

    python benchmarks/moto_seeded.py --port P --groups G --versions V --arns FILE

FILE receives the package ARNs as a JSON list indexed like Registry.arns,
written before the server starts answering.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def seed(groups: int, versions: int) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    from registry import REGION, Registry, group_name, package_request

    backend = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]
    for g in range(groups):
        backend.create_model_package_group(
            model_package_group_name=group_name(g),
            model_package_group_description="churn models for one market",
            tags=None,
        )
    reg = Registry.plan(groups, versions)
    everything: dict = {}
    per_group: list[dict] = [{} for _ in range(groups)]
    for i in range(groups * versions):
        request = package_request(group_name(i % groups), i, reg.approved[i])
        backend.model_packages = per_group[i % groups]  # the scan sees this group only
        arn = backend.create_model_package(
            model_package_name=None,
            model_package_group_name=request["ModelPackageGroupName"],
            model_package_description=request["ModelPackageDescription"],
            inference_specification=request["InferenceSpecification"],
            validation_specification=None,
            source_algorithm_specification=None,
            certify_for_marketplace=False,
            tags=None,
            model_approval_status=request["ModelApprovalStatus"],
            metadata_properties=request["MetadataProperties"],
            model_metrics=request["ModelMetrics"],
            client_token=None,
            customer_metadata_properties=request["CustomerMetadataProperties"],
            drift_check_baselines=None,
            domain=request["Domain"],
            task=request["Task"],
            sample_payload_url=None,
            additional_inference_specifications=None,
        )
        everything[arn] = backend.model_packages[arn]
        reg.arns[i] = arn
    backend.model_packages = everything
    return reg.arns  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--groups", type=int, required=True)
    parser.add_argument("--versions", type=int, required=True)
    parser.add_argument("--arns", type=Path, required=True)
    args = parser.parse_args()
    arns = seed(args.groups, args.versions)
    args.arns.write_text(json.dumps(arns))
    print(f"seeded {args.groups:,} groups and {len(arns):,} packages", flush=True)
    from moto.server import main as moto_server

    moto_server(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
