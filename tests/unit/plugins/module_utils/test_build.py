"""A Cloud Build of a source folder (module_utils/_build.py): the source bucket, the build and its result."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from ansible_collections.nadle.cloudrun.plugins.module_utils import _build
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError


class RacingStorage:
    """A bucket that another build creates between our read and our create."""

    def __init__(self, owned_elsewhere=False):
        self.reads = 0
        self.owned_elsewhere = owned_elsewhere

    def get_bucket(self, name):
        self.reads += 1
        if self.reads == 1:
            raise gexc.NotFound(f"bucket {name}")
        if self.owned_elsewhere:
            raise gexc.Forbidden("caller does not have storage.buckets.get access")
        return name

    def create_bucket(self, name, location):
        raise gexc.Conflict("Your previous request to create the named bucket succeeded and you already own it.")


def test_a_bucket_created_by_a_parallel_build_is_used():
    storage = RacingStorage()
    _build._ensure_bucket(storage, "p_cloudbuild", "asia-northeast3")
    assert storage.reads == 2


def test_a_bucket_name_owned_elsewhere_says_to_set_bucket():
    with pytest.raises(CloudRunError) as err:
        _build._ensure_bucket(RacingStorage(owned_elsewhere=True), "p_cloudbuild", "asia-northeast3")
    assert "create the source bucket p_cloudbuild" in err.value.msg
    assert "Set the bucket option" in err.value.msg


class ProjectBuckets:
    """Storage as the default bucket finds it: the project's own buckets, and the names anyone has taken."""

    def __init__(self, owned=(), taken=(), made_meanwhile=False):
        self.owned, self.taken, self.made_meanwhile = set(owned), set(taken), made_meanwhile
        self.created = []

    def list_buckets(self, project, prefix):
        return [type("Bucket", (), {"name": n})() for n in sorted(self.owned) if n.startswith(prefix)]

    def create_bucket(self, name, location):
        if name in self.taken or self.made_meanwhile:
            if self.made_meanwhile:
                self.owned.add(name)
            raise gexc.Conflict("Your previous request to create the named bucket succeeded and you already own it.")
        self.created.append(name)
        self.owned.add(name)


def test_the_default_bucket_is_used_when_the_project_owns_it():
    storage = ProjectBuckets(owned={"p_cloudbuild"})
    _build._ensure_bucket(storage, "p_cloudbuild", "global", "p")
    assert storage.created == []


def test_the_default_bucket_is_created_when_nobody_has_it():
    storage = ProjectBuckets()
    _build._ensure_bucket(storage, "p_cloudbuild", "asia-northeast3", "p")
    assert storage.created == ["p_cloudbuild"]


def test_the_default_bucket_made_by_a_parallel_build_of_this_project_is_used():
    _build._ensure_bucket(ProjectBuckets(made_meanwhile=True), "p_cloudbuild", "global", "p")


def test_the_default_bucket_name_taken_by_another_project_is_refused():
    with pytest.raises(CloudRunError) as err:
        _build._ensure_bucket(ProjectBuckets(taken={"p_cloudbuild"}), "p_cloudbuild", "global", "p")
    assert "gs://p_cloudbuild, the source bucket gcloud would use for project p, exists but belongs to another " \
           "project" in err.value.msg
    assert "cloudrun_deploy_build_bucket" in err.value.msg
    assert err.value.msg.startswith("Nothing was uploaded")


@pytest.mark.parametrize("project, bucket", [
    ("my-project", "my-project_cloudbuild"),
    ("example.com:my-project", "example_com_my-project_cloudbuild"),
    ("google.com:tools", "elgoog_com_tools_cloudbuild"),
])
def test_the_default_source_bucket_is_named_as_gcloud_names_it(project, bucket):
    assert _build.default_bucket(project) == bucket


def test_a_build_account_without_a_place_for_its_log_is_refused_before_any_request(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    params = {"image": "europe-west1-docker.pkg.dev/p/r/app", "path": str(tmp_path), "dockerfile": "Dockerfile",
              "service_account": "builder@p.iam.gserviceaccount.com", "logging": None, "logs_bucket": None}
    with pytest.raises(CloudRunError) as err:
        _build.refuse_bad_options(params)
    assert "service_account: a build that runs as a service account needs logs_bucket" in err.value.msg
    _build.refuse_bad_options(dict(params, logging="CLOUD_LOGGING_ONLY"))
    _build.refuse_bad_options(dict(params, logs_bucket="gs://my-build-logs"))
    request = _build._build_request(dict(params, logging="CLOUD_LOGGING_ONLY", build_timeout=600),  # pylint: disable=protected-access
                                    "b", "source/x.tgz", "repo:src-1", "src-1", "p")
    assert request["service_account"] == "projects/p/serviceAccounts/builder@p.iam.gserviceaccount.com"
    assert request["options"] == {"logging": "CLOUD_LOGGING_ONLY"}
