# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: build an image from a source folder with Cloud Build, only when the source changed.

The context is a deterministic tarball (sorted names, fixed times, owners and modes), so its
hash names the source: the image tag. An image with that tag in the registry means this source
was built already: nothing is uploaded and nothing is built.
"""

from __future__ import annotations

import os
import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._context import source_archive, source_tag
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import repository_problem
from ansible_collections.nadle.cloudrun.plugins.module_utils._progress import note

try:
    from google.cloud.devtools import cloudbuild_v1
except ImportError:  # reported by CloudRunModule
    pass

LOG_TAIL = 30
UNDER_WAY = ("QUEUED", "PENDING", "WORKING")
FINISHED = ("SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED")
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"


LOGGING_WITHOUT_BUCKET = ("CLOUD_LOGGING_ONLY", "NONE")
# LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE: an Artifact Registry image and its repository.
AR_IMAGE = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repository>[^/:@]+)/")


def default_bucket(project):
    """gcloud's source bucket: the project ID with ``:`` and ``.`` as ``_`` and ``google`` as ``elgoog``, then
    ``_cloudbuild`` (shared/reference/real-api-findings.md, "Cloud Build and Cloud Storage")."""
    return project.replace(":", "_").replace(".", "_").replace("google", "elgoog") + "_cloudbuild"


def service_account_name(account, project):
    """Cloud Build names the build's account ``projects/P/serviceAccounts/EMAIL``; an email alone is taken too."""
    return account if account.startswith("projects/") else f"projects/{project}/serviceAccounts/{account}"


def refuse_bad_options(params):
    problem = repository_problem(params["image"])
    problems = [problem] if problem else []
    if params.get("service_account") and not params.get("logs_bucket") and \
            params.get("logging") not in LOGGING_WITHOUT_BUCKET:
        # Cloud Build refuses it ("if 'build.service_account' is specified, the build must either ...").
        problems.append("service_account: a build that runs as a service account needs logs_bucket, or logging "
                        "CLOUD_LOGGING_ONLY or NONE; Cloud Build refuses it otherwise.")
    if params.get("logs_bucket") and not params["logs_bucket"].startswith("gs://"):
        problems.append(f"logs_bucket: '{params['logs_bucket']}' must be a gs:// URL, for example gs://my-build-logs.")
    for extra in params.get("tags") or []:
        if not extra or len(extra) > 128 or not all(c.isalnum() or c in "_.-" for c in extra):
            problems.append(f"tags: '{extra}' is not a Docker tag (letters, digits, '_', '.', '-'; 128 at most).")
    if params.get("build_timeout") is not None and params["build_timeout"] <= 0:
        problems.append(f"build_timeout: {params['build_timeout']} must be more than 0 seconds.")
    if not os.path.isdir(params["path"]):
        problems.append(f"path: {params['path']} is not a folder.")
    elif not os.path.isfile(os.path.join(params["path"], params["dockerfile"])):
        problems.append(f"dockerfile: {params['dockerfile']} is not in {params['path']}.")
    if problems:
        raise CloudRunError("Nothing was built:\n- " + "\n- ".join(problems))


def _log_tail(storage, build):
    """The last lines of a build's log, from its logs bucket; best effort."""
    bucket = (build.logs_bucket or "").replace("gs://", "", 1).split("/", 1)[0]
    if not bucket:
        return []
    try:
        text = api.download_text(storage, bucket=bucket, name=f"log-{build.id}.txt")
    except (CloudRunError, ValueError):
        return []
    return (text or "").splitlines()[-LOG_TAIL:]


def _bucket_there(storage, name, project):
    """Whether the bucket can be used: it exists (a bucket the user named), or, for gcloud's default
    (``project`` given), it is among that project's own buckets."""
    if project:
        return api.owns_bucket(storage, project=project, name=name)
    return api.get_bucket(storage, name=name) is not None


def _ensure_bucket(storage, name, region, project=None):
    """The source bucket, created when missing. With ``project``, ``name`` is gcloud's default bucket and is
    used only when this project owns it.

    Anyone can create a bucket of the default name in their own project first; a source uploaded there
    could be read or replaced by them, so gcloud refuses it (shared/reference/real-api-findings.md,
    "Cloud Build and Cloud Storage"), and so does this. Ownership is read as the project's bucket list
    (storage.buckets.list, as gcloud's check), not buckets.get, which roles/storage.objectAdmin lacks.
    """
    if _bucket_there(storage, name, project):
        return
    try:
        api.create_bucket(storage, name=name, location=region if region != "global" else "US")
    except CloudRunError as exc:
        if exc.details.get("api_status") != 409:
            raise
        # Another build created it between our read and our create (several services deployed
        # with forks share the bucket): "you already own it". A name owned elsewhere reads 403.
        try:
            there = _bucket_there(storage, name, project)
        except CloudRunError:
            there = False
        if there:
            return
        if not project:
            raise CloudRunError(exc.msg + " Set the bucket option to a bucket of this project.") from exc
        raise CloudRunError(
            f"Nothing was uploaded: gs://{name}, the source bucket gcloud would use for project {project}, exists "
            "but belongs to another project, whose owner could read or replace a source uploaded there. Set the "
            "bucket option (the cloudrun_deploy role: cloudrun_deploy_build_bucket) to a bucket of this project.",
            bucket=name) from exc


def ensure_repository(module, image):
    """Before any upload: the Artifact Registry repository ``image`` goes to exists, or is made when
    ``create_repository`` (Docker format, in the image's location). Returns whether it was (or, in check
    mode, would be) created. Images elsewhere (gcr.io, Docker Hub) are not checked.

    A push to a repository that does not exist fails the build after the upload and the whole build
    (shared/reference/real-api-findings.md: "The Artifact Registry repository must exist before the push").
    """
    match = AR_IMAGE.match(image)
    if not match:
        return False
    location, project, repository = match.group("location"), match.group("project"), match.group("repository")
    parent = f"projects/{project}/locations/{location}"
    name = f"{parent}/repositories/{repository}"
    client = module.client("repositories")
    if api.get_repository(client, name=name) is not None:
        return False
    if not module.params["create_repository"]:
        raise CloudRunError(
            f"Nothing was uploaded or built: the Artifact Registry repository {repository} does not exist in "
            f"{location} of project {project}, so the push of {image} would fail. Create it with:\n"
            f"  gcloud artifacts repositories create {repository} --repository-format=docker --location={location} "
            f"--project={project}\nor set create_repository: true (the cloudrun_deploy role: "
            "cloudrun_deploy_create_repository: true).", repository=name)
    if module.check_mode:
        return True
    try:
        operation = api.create_repository(client, parent=parent, repository_id=repository,
                                          labels={"managed-by": "nadle-cloudrun"})
    except CloudRunError as exc:
        # 409: made meanwhile (a parallel deploy); after a lost answer, the first try may have made it.
        made = exc.details.get("api_status") == 409 or (
            api.lost_answer(exc) and api.get_repository(client, name=name) is not None)
        if made:
            return False
        raise
    api.wait(operation, module.params["wait_timeout"], f"create the Artifact Registry repository {name}")
    return True


def _name_of(operation, parent):
    return f"{parent}/builds/{operation.metadata.build.id}"


def _build_failure(builds, storage, build_name, image, reason, in_message=True):
    """A failed build: its status, Cloud Build's detail, and the end of its log, in the message or (not
    ``in_message``) as data in log_tail: once either way."""
    failed = api.get_build(builds, name=build_name)
    tail = _log_tail(storage, failed)
    told = ("\nLast lines of the build log:\n" + "\n".join(tail) if in_message
            else f"\nThe last {len(tail)} lines of the build log are in log_tail.") if tail else ""
    return CloudRunError(
        f"The build of {image} failed ({failed.status.name}): {failed.status_detail or reason}" + told
        + (f"\nThe whole log: {failed.log_url}" if failed.log_url else ""),
        changed=True, build_id=failed.id, log_url=failed.log_url or None, log_tail=[] if in_message else tail,
        image=image)


def _under_way(builds, parent, tag, image):
    """A build of this source (Cloud Build tag ``tag``) that pushes ``image`` and is queued, running or done
    well, or None. The image counts: services built from one folder into repositories of their own (an API
    and a worker from one Dockerfile) each need their own push."""
    for found in api.list_builds(builds, parent=parent, tag=tag):
        if found.status.name in UNDER_WAY + ("SUCCESS",) and image in found.images:
            return found
    return None


def start_build(builds, parent, build, image, tag, attempts=3):
    """(operation, None) for a build this call started, or (None, build name) for one already under way.

    A build is not started twice: one of this source already running (a parallel deploy of the same
    code) is waited for instead, and after a server error or a dropped connection the builds are
    listed again before another try, since the first may have been accepted.
    """
    running = _under_way(builds, parent, tag, image)
    if running is not None:
        note(f"waiting for build {running.id} of this source, started elsewhere; its log: {running.log_url}")
        return None, running.name
    for attempt in range(attempts):
        try:
            operation = api.create_build(builds, parent=parent, build=build, image=image)
            started = operation.metadata.build
            note(f"build {started.id} of {image} started; its log: {started.log_url}")
            return operation, _name_of(operation, parent)
        except CloudRunError as exc:
            if not api.lost_answer(exc) or attempt == attempts - 1:
                raise
            running = _under_way(builds, parent, tag, image)
            if running is not None:
                return None, running.name
            api.backoff(attempt)
    raise CloudRunError(f"Could not start the build of {image}.")  # not reached


def await_build(builds, name, timeout):
    """Poll a build this call did not start until it finishes, for at most ``timeout`` seconds."""
    found, finished = api.poll(lambda: api.get_build(builds, name=name), lambda b: b.status.name in FINISHED,
                               timeout, initial=1.0, maximum=10.0)
    if not finished:
        raise CloudRunError(f"Timed out after {timeout} seconds waiting for build {name}; it is still "
                            f"{found.status.name}.")
    return found


def _upload_source(module, data, source_hash):
    """The gzipped context into the build bucket (made when missing); returns (bucket, object, generation)."""
    storage = module.client("storage")
    bucket = module.params["bucket"] or default_bucket(module.project)
    _ensure_bucket(storage, bucket, module.params["build_region"], None if module.params["bucket"] else module.project)
    source_object = f"source/{source_hash}.tgz"
    generation = api.upload_object(storage, bucket=bucket, name=source_object, data=data,
                                   content_type="application/gzip")
    return bucket, source_object, generation


def _build_request(params, bucket, source_object, image, tag, project, generation=None):
    """The Cloud Build request: one docker build step of the uploaded context, tagged and pushed."""
    images = [image] + [f"{params['image']}:{extra}" for extra in params.get("tags") or []]
    args = ["build", "--network=cloudbuild", "-f", params["dockerfile"]]
    for name in images:
        args += ["-t", name]
    storage_source = {"bucket": bucket, "object_": source_object}
    if generation:
        # Pinned, as gcloud pins it: the build reads the object uploaded now, whatever is written after.
        storage_source["generation"] = generation
    request = {"source": {"storage_source": storage_source},
               "steps": [{"name": DOCKER_BUILDER, "args": args + ["."]}], "images": images,
               "timeout": {"seconds": params["build_timeout"]},
               # Cloud Build's own tags (not Docker's): how a build of this source is found again.
               "tags": [tag]}
    if params.get("service_account"):
        request["service_account"] = service_account_name(params["service_account"], project)
    if params.get("logs_bucket"):
        request["logs_bucket"] = params["logs_bucket"]
    if params.get("logging"):
        request["options"] = {"logging": params["logging"]}
    return request


def _run_build(module, build, image, tag):
    """Start the build (or join the one running for this source) and wait; the finished Build when SUCCESS."""
    builds, storage = module.client("builds"), module.client("storage")
    parent = builds.common_location_path(module.project, module.params["build_region"])
    operation, build_name = start_build(builds, parent, build, image, tag)
    try:
        finished = (api.wait(operation, module.params["wait_timeout"], f"build {image}") if operation is not None
                    else await_build(builds, build_name, module.params["wait_timeout"]))
    except CloudRunError as exc:
        raise _build_failure(builds, storage, build_name, image, exc.msg, module.params["log_in_message"]) from exc
    if finished.status != cloudbuild_v1.Build.Status.SUCCESS:
        # Only SUCCESS counts, whatever the operation said (shared/reference/real-api-findings.md).
        raise _build_failure(builds, storage, finished.name or build_name, image,
                             f"the build ended {finished.status.name}", module.params["log_in_message"])
    return finished


def submit(module):
    params = module.params
    refuse_bad_options(params)
    root = params["path"]
    files, data, source_hash = source_archive(root, params["dockerfile"])
    tag = source_tag(source_hash)
    image = f"{params['image']}:{tag}"
    result = {"image": image, "tag": tag, "source_hash": f"sha256:{source_hash}", "files": len(files),
              "repository_created": False, "build_id": None, "log_url": None, "log_tail": [], "digest": None, "image_digest": None}
    digest = api.image_digest(module.session(), image, emulator=module.emulator)
    if digest:
        return dict(result, changed=False, digest=digest, image_digest=f"{params['image']}@{digest}",
                    msg=f"{image} exists: this source was built already, so nothing was uploaded or built.")
    created = ensure_repository(module, image)
    result["repository_created"] = created
    if module.check_mode:
        return dict(result, changed=True, msg=f"{image} does not exist: a build would run"
                    + (", after the repository is created." if created else "."))
    bucket, source_object, generation = _upload_source(module, data, source_hash)
    request = _build_request(params, bucket, source_object, image, tag, module.project, generation)
    finished = _run_build(module, request, image, tag)
    built = [i for i in finished.results.images if i.name == image]
    digest = built[0].digest if built else api.image_digest(module.session(), image, emulator=module.emulator)
    return dict(result, changed=True, build_id=finished.id, digest=digest, image_digest=f"{params['image']}@{digest}",
                log_url=finished.log_url or None, log_tail=_log_tail(module.client("storage"), finished),
                msg=f"Built {image} ({digest}). Log: {finished.log_url}")
