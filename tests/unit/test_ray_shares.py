"""What each host of a job asks of a Ray cluster (RayExecutor's bundles), from the instance type and the nodes."""

from __future__ import annotations

import pytest

pytest.importorskip("ray")

from charter.runtime.executors.ray import MIB, HostShare, _slots, host_share  # noqa: E402
from charter.runtime.instance_types import lookup  # noqa: E402

GIB = 1024 * MIB


def node(cpus, gib, gpus=0):
    resources = {"CPU": float(cpus), "memory": float(gib * GIB)}
    if gpus:
        resources["GPU"] = float(gpus)
    return resources


def test_a_job_that_fits_gets_its_instance_type():
    share = host_share(lookup("ml.m5.xlarge"), 2, [node(8, 64), node(8, 64)])
    assert share == HostShare(4.0, 16 * GIB)
    assert share.bundle() == {"CPU": 4.0, "memory": float(16 * GIB)}


def test_a_host_is_capped_by_the_biggest_node():
    share = host_share(lookup("ml.m5.4xlarge"), 1, [node(2, 8), node(4, 12)])
    assert share == HostShare(4.0, 12 * GIB)


def test_a_job_bigger_than_the_cluster_is_shrunk_until_all_its_hosts_fit():
    nodes = [node(2, 16), node(2, 16)]
    share = host_share(lookup("ml.m5.large"), 3, nodes)  # 3 x 2 CPUs on 4 CPUs: two must share a node
    assert _slots(nodes, share) >= 3
    assert share.cpus == pytest.approx(1.0)
    assert share.memory_bytes == 4 * GIB  # memory scaled with the CPUs


def test_hosts_that_must_share_a_node_share_the_biggest():
    share = host_share(lookup("ml.m5.large"), 2, [node(2, 16), node(3, 16)], one_node=True)
    assert share.cpus == pytest.approx(1.5) and share.memory_bytes == 6 * GIB
    assert _slots([node(3, 16)], share) == 2


def test_gpus_are_asked_for_only_where_the_cluster_has_some():
    assert host_share(lookup("ml.p3.2xlarge"), 1, [node(8, 64)]).gpus == 0
    assert host_share(lookup("ml.p3.8xlarge"), 1, [node(32, 256, gpus=2)]).bundle()["GPU"] == 2.0


def test_a_cluster_without_cpus_says_so():
    with pytest.raises(RuntimeError, match="no node with CPUs"):
        host_share(lookup("ml.m5.large"), 1, [node(0, 8)])
