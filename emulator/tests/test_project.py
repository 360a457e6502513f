"""A fresh project in the emulator (emulator/project.py): APIs off as Google answers it, repositories, buckets."""

import json

import pytest

from emulator.errors import ApiError
from emulator.iam import project_number
from emulator.project import Project
from emulator.storage import Storage
from emulator.store import Store


def now():
    return "2026-11-27T00:00:00Z"


@pytest.fixture
def fresh():
    return Project(Store(), now, fresh=True)


def test_a_ready_project_has_every_api_and_every_repository():
    ready = Project(Store(), now)
    ready.require("p", "run.googleapis.com")
    assert ready.get_repository("projects/p/locations/l/repositories/r")["format"] == "DOCKER"


def test_a_disabled_api_answers_googles_service_disabled_error(fresh):
    with pytest.raises(ApiError) as err:
        fresh.require("p", "run.googleapis.com")
    body = err.value.body()["error"]
    number = project_number("p")
    assert (body["code"], body["status"]) == (403, "PERMISSION_DENIED")
    assert body["message"].startswith(f"Cloud Run Admin API has not been used in project {number} before or it is "
                                      "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
                                      f"run.googleapis.com/overview?project={number} then retry.")
    info = body["details"][0]
    assert info["reason"] == "SERVICE_DISABLED" and info["metadata"]["service"] == "run.googleapis.com"
    fresh.require("p", "logging.googleapis.com")  # on by default in a new project
    fresh.require("p", None)  # Service Usage itself


def test_enabling_is_an_operation_done_on_the_next_read_and_a_second_enable_a_noop(fresh):
    operation = fresh.batch_enable("p", json.dumps({"serviceIds": ["run.googleapis.com"]}).encode())
    assert operation["done"] is False and operation["name"].startswith("operations/acat.p2-")
    assert fresh.get_operation(operation["name"])["done"] is False
    done = fresh.get_operation(operation["name"])
    assert done["response"]["services"][0]["state"] == "ENABLED"
    fresh.require("p", "run.googleapis.com")
    again = fresh.batch_enable("p", json.dumps({"serviceIds": ["run.googleapis.com"]}).encode())
    assert again == dict(again, name="operations/noop.DONE_OPERATION", done=True)
    states = fresh.batch_get(project_number("p"), {"names": ["projects/p/services/run.googleapis.com",
                                                             "projects/p/services/cloudbuild.googleapis.com"]})
    assert [s["state"] for s in states["services"]] == ["ENABLED", "DISABLED"]


def test_an_unknown_api_name_is_refused_for_the_whole_batch(fresh):
    with pytest.raises(ApiError) as err:
        fresh.batch_enable("p", json.dumps({"serviceIds": ["run.googleapis.com", "runn.googleapis.com"]}).encode())
    assert err.value.http_status == 403 and "runn.googleapis.com" in err.value.message
    assert not fresh.enabled("p", "run.googleapis.com")  # nothing of the batch was enabled


def test_repositories_exist_once_created_and_only_docker_pushes_are_checked(fresh):
    name = "projects/p/locations/europe-west1/repositories/apps"
    with pytest.raises(ApiError) as err:
        fresh.get_repository(name)
    assert err.value.http_status == 404
    assert fresh.image_repository("europe-west1-docker.pkg.dev/p/apps/api:src-1") == name
    assert fresh.image_repository("gcr.io/p/api:1") is None
    with pytest.raises(ApiError) as err:
        fresh.create_repository("projects/p/locations/europe-west1", {"repositoryId": ["apps"]}, b"{}")
    assert "format must be specified" in err.value.message
    with pytest.raises(ApiError):
        fresh.create_repository("projects/p/locations/europe-west1", {"repositoryId": ["Apps"]}, b'{"format":"DOCKER"}')
    operation = fresh.create_repository("projects/p/locations/europe-west1", {"repositoryId": ["apps"]},
                                        b'{"format": "DOCKER"}')
    assert fresh.repository_exists(name)
    fresh.get_operation(operation["name"])
    assert fresh.get_operation(operation["name"])["response"]["name"] == name
    assert fresh.get_repository(name)["registryUri"] == "europe-west1-docker.pkg.dev/p/apps"
    with pytest.raises(ApiError) as err:
        fresh.create_repository("projects/p/locations/europe-west1", {"repositoryId": ["apps"]}, b'{"format":"DOCKER"}')
    assert err.value.http_status == 409


def test_buckets_are_listed_by_the_project_that_owns_them(tmp_path):
    storage = Storage(Store(), str(tmp_path), now)
    storage.create_bucket({"project": ["p"]}, b'{"name": "p_cloudbuild"}')
    storage.create_bucket({"project": ["attacker"]}, b'{"name": "q_cloudbuild"}')
    assert [b["name"] for b in storage.list_buckets({"project": ["p"], "prefix": ["p_"]})["items"]] == ["p_cloudbuild"]
    assert "items" not in storage.list_buckets({"project": ["q"], "prefix": ["q_cloudbuild"]})
    assert storage.list_buckets({"project": [project_number("p")]})["items"][0]["projectNumber"] == project_number("p")
