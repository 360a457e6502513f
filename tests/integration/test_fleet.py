"""A fleet from one source folder (issue 26): four services of the example, each with an image repository of
its own, deployed in one run; two of them share one migration job and deploy at the same time.

Before: a build of the same source for another repository was taken for this one, so three of four services
deployed an image that did not exist; and the second create of the shared job failed with 409.
"""

from __future__ import annotations

import os

import pytest

from emulator.testing import request_json
from test_deploy_playbook import HOST_VARS, PARENT, health, recap, repository_copy, serving

SERVICES = ["fleet-api", "fleet-worker", "fleet-admin", "fleet-cron"]
REPOSITORY = "asia-northeast3-docker.pkg.dev/xai-community-local/apps/"
SHARED_JOB = "fleet-migrate"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    for copy in repository_copy(tmp_path_factory, "fleet"):
        with open(os.path.join(copy.path, HOST_VARS), encoding="utf-8") as handle:
            example = handle.read()
        for name in SERVICES:
            own = example.replace(f"{REPOSITORY}xai-community-backend", REPOSITORY + name)
            own = own.replace("name: xai-community-backend-migrate",
                              f"name: {SHARED_JOB if name in SERVICES[:2] else name + '-migrate'}")
            with open(os.path.join(copy.path, "inventories", "local", "host_vars", f"{name}.yml"), "w",
                      encoding="utf-8") as handle:
                handle.write(own)
        copy.edit(os.path.join("inventories", "local", "hosts.yml"), "xai-community-backend:",
                  "".join(f"{name}:\n    " for name in SERVICES[:-1]) + f"{SERVICES[-1]}:")
        yield copy


def builds(repo):
    return request_json(f"{repo.api}/v1/projects/xai-community-local/locations/global/builds").get("builds", [])


def test_four_services_from_one_folder_each_built_into_its_own_repository_in_one_run(repo):
    result = repo.playbook("deploy", "--forks", "4")
    assert result.returncode == 0, result.output[-8000:]
    assert recap(result)["failed"] == 0
    pushed = sorted(image["name"].rsplit(":", 1)[0] for build in builds(repo) for image in build["results"]["images"])
    # One build per image: the source is the same, the push is not.
    assert pushed == sorted(REPOSITORY + name for name in SERVICES), pushed
    for name in SERVICES:
        service = request_json(f"{repo.api}/v2/{PARENT}/services/{name}")
        assert list(serving(service).values()) == [100]
        assert service["template"]["containers"][0]["image"].startswith(REPOSITORY + name + ":src-")
        assert health(service["uri"])["status"] == "healthy"
    # Both services that share the migration job ran it, each with its new image, before its revision.
    shared = request_json(f"{repo.api}/v2/{PARENT}/jobs/{SHARED_JOB}/executions").get("executions", [])
    assert len(shared) == 2 and all(e.get("succeededCount") == 1 for e in shared), shared
    again = repo.playbook("deploy", "--forks", "4")
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.output[-6000:]
