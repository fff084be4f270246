"""The check behind refusing a local storage path on a cluster of several hosts: a Ray task on each host looks for
a file the driver wrote. Several nodes on one machine (the shared `ray_cluster`) all see the driver's folder."""

import pytest

from orchestrator.runtime import storage

pytestmark = pytest.mark.integration


def test_every_node_on_this_machine_sees_the_drivers_folder(tmp_path, ray_cluster):
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    assert len(nodes) == 2
    hosts = {n["NodeManagerAddress"] for n in nodes}
    assert storage.hosts_seeing(str(tmp_path), nodes) == hosts
    assert not list(tmp_path.iterdir())  # the marker file is gone
    assert storage.cluster_problems(str(tmp_path), nodes, hosts) == []
