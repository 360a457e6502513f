"""Cloud Build v1: a docker build step checked against its context as Docker does, then the image registered.

Nothing is built: the build unpacks the uploaded source, checks that every COPY/ADD source of
the Dockerfile is in the context after .dockerignore (docker-py's rules, Docker's message),
and registers each image it pushes as that folder, so revisions of it run as with --image.
The build log is written to the logs bucket as ``log-<id>.txt``, where Cloud Build puts it.
"""

import fnmatch
import io
import json
import os
import re
import shlex
import tarfile
import threading
import time
import uuid

from dockerfile_parse import DockerfileParser
from google.cloud.devtools import cloudbuild_v1

from emulator import images, layers
from emulator.errors import ApiError, not_found, or_not_found
from emulator.wire import parse, render

BUILD_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.Build"
METADATA_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"


class BuildFailure(Exception):
    pass


def _inside(name):
    """Whether a member path, read lexically from the context's root, stays in it."""
    clean = os.path.normpath(name)
    return not (os.path.isabs(name) or clean == ".." or clean.startswith("../"))


def safe_members(archive):
    """The archive's members, or BuildFailure for one that could write outside the folder it is unpacked in.

    Checked by name only, before anything is written, whatever Python's ``data`` filter does (symlink chains
    past PATH_MAX slipped through it on 3.11.7, the CVE-2025-4517 class): every path stays under the root,
    no member goes through a symbolic link of the archive, a link points inside, and a hard link names a
    regular file the archive wrote before it. Devices and FIFOs are refused. Written here because tarfile's
    filters resolve paths on disk, which is what the attack plays with.
    """
    links, files = set(), set()

    def through_link(path):  # a path one of whose folders is a symbolic link of the archive
        parts = path.split("/")
        return any("/".join(parts[:i]) in links for i in range(1, len(parts)))

    for member in archive.getmembers():
        name = os.path.normpath(member.name)
        target = os.path.join(os.path.dirname(name), member.linkname) if member.issym() \
            else member.linkname if member.islnk() else None
        if not _inside(member.name) or through_link(name) or name in links or \
                (member.issym() and (os.path.isabs(member.linkname) or not _inside(target) or through_link(target)
                                     or through_link(os.path.normpath(target)))) or \
                (member.islnk() and os.path.normpath(target) not in files) or \
                not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise BuildFailure(f"the source archive's member {member.name!r} would be written outside the build "
                               "context; nothing of it was unpacked")
        (links if member.issym() else files if member.isfile() else set()).add(name)
        yield member


# The Dockerfile reference's instructions (docs.docker.com/reference/dockerfile/).
INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def check_sources(folder, dockerfile, log):
    """Walk the Dockerfile as the docker builder does; raise BuildFailure with Docker's message."""
    context = images.docker_context(folder, dockerfile)
    parser = DockerfileParser(path=os.path.join(folder, dockerfile))
    steps = [i for i in parser.structure if i["instruction"] not in ("COMMENT",)]
    for ins in steps:
        if ins["instruction"] not in INSTRUCTIONS:  # as the docker builder's parser refuses it, before any step
            raise BuildFailure(f"dockerfile parse error on line {ins['startline'] + 1}: unknown instruction: "
                               f"{ins['instruction']}")
    for number, ins in enumerate(steps, start=1):
        log(f"Step {number}/{len(steps)} : {ins['instruction']} {ins['value']}")
        if ins["instruction"] not in ("COPY", "ADD"):
            continue
        value = ins["value"].strip()
        parts = json.loads(value) if value.startswith("[") else shlex.split(value)
        if any(p.startswith("--from") for p in parts):
            continue
        paths = [p for p in parts if not p.startswith("--")]
        for source in paths[:-1]:
            if source.startswith(("http://", "https://")):
                continue
            clean = os.path.normpath(source.lstrip("/")) if source.strip("/") else "."
            if clean == "." or any(fnmatch.fnmatchcase(p, clean) or p.startswith(clean + "/") for p in context):
                continue
            raise BuildFailure(f"{ins['instruction']} failed: file not found in build context or excluded by "
                               f".dockerignore: stat {source}: file does not exist")


class CloudBuild:
    def __init__(self, store, storage, data_dir, now, project_number, faults=None, project=None):
        self.store = store
        self.project = project  # Artifact Registry: where a push goes must exist
        self.faults = faults
        self.storage = storage
        self.build_dir = os.path.join(data_dir, "builds")
        os.makedirs(self.build_dir, exist_ok=True)
        self.now = now
        self.project_number = project_number

    def _build(self, name):
        with self.store.lock:
            return or_not_found(self.store.builds.get(name), f"Build {name} not found.")

    def create_build(self, parent, body):
        spec = parse(body, cloudbuild_v1.Build, "build")
        source = (spec.get("source") or {}).get("storageSource") or {}
        if not source.get("bucket") or not source.get("object"):
            raise ApiError(400, "Violation in CreateBuildRequest.build.source: a storageSource bucket and object are "
                                "required by this emulator.")
        if not spec.get("steps"):
            raise ApiError(400, "Violation in CreateBuildRequest.build.steps: at least one step is required.")
        options = spec.get("options") or {}
        if spec.get("serviceAccount") and not spec.get("logsBucket") and \
                options.get("logging") not in ("CLOUD_LOGGING_ONLY", "NONE") and \
                options.get("defaultLogsBucketBehavior") != "REGIONAL_USER_OWNED_BUCKET":
            # shared/reference/real-api-findings.md, "Cloud Build and Cloud Storage".
            raise ApiError(400, "if 'build.service_account' is specified, the build must either (a) specify "
                                "'build.logs_bucket', (b) use the REGIONAL_USER_OWNED_BUCKET "
                                "build.options.default_logs_bucket_behavior option, or (c) use either "
                                "CLOUD_LOGGING_ONLY / NONE logging options")
        project = parent.split("/")[1]
        build_id = str(uuid.uuid4())
        logs_bucket = spec.get("logsBucket") or \
            f"gs://{self.project_number(project)}.cloudbuild-logs.googleusercontent.com"
        build = dict(spec, id=build_id, name=f"{parent}/builds/{build_id}", projectId=project, status="QUEUED",
                     createTime=self.now(), logsBucket=logs_bucket,
                     logUrl=f"https://console.cloud.google.com/cloud-build/builds/{build_id}?project={project}")
        if options.get("logging") in ("CLOUD_LOGGING_ONLY", "NONE"):
            build.pop("logsBucket")  # no log in Cloud Storage: Cloud Logging only, or none at all
        operation = f"{parent}/operations/{uuid.uuid4()}"
        with self.store.lock:
            self.store.builds[build["name"]] = build
            self.store.build_operations[operation] = {"name": operation, "build": build["name"]}
            self.store.buckets.setdefault(logs_bucket, {"kind": "storage#bucket", "id": logs_bucket,
                                                        "name": logs_bucket})
            self.store.save()
        threading.Thread(target=self._run, args=(build["name"],), name=f"build-{build_id[:8]}", daemon=True).start()
        return self.operation_view(operation)

    def resume(self):
        """After a restart with --state-dir: builds that were queued or running start again from their source.

        A Cloud Build build runs on Google's workers, not in the API's frontend, so nothing a client sees
        stops it; the emulator's builds run in its own process and die with it, so it runs them again
        (a build is a function of its pinned source) and each one still ends, as on Google."""
        with self.store.lock:
            unfinished = [n for n, b in self.store.builds.items() if b.get("status") in ("QUEUED", "WORKING")]
        for name in unfinished:
            threading.Thread(target=self._run, args=(name,), name=f"resume-build-{name[-8:]}", daemon=True).start()
        return unfinished

    def _run(self, name):
        build = self._build(name)
        started = time.monotonic()
        with self.store.lock:
            build["status"] = "WORKING"
        lines = []
        log = lines.append
        log(f"starting build \"{build['id']}\"")
        log("")
        log("FETCHSOURCE")
        folder = os.path.join(self.build_dir, build["id"])
        try:
            source = build["source"]["storageSource"]
            data = self.storage.read(source["bucket"], source["object"])
            log(f"Fetching storage object: gs://{source['bucket']}/{source['object']}")
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                members = list(safe_members(archive))  # all checked before the first is written
                archive.extractall(folder, members=members, filter="data")
            images_built = []
            for step in build["steps"]:
                args = step.get("args", [])
                log(f"Step #{len(images_built)}: {step.get('name')} {' '.join(args)}")
                if args[:1] != ["build"]:
                    raise BuildFailure(f"The emulator runs only 'docker build' steps, not {' '.join(args[:1])}.")
                dockerfile = args[args.index("-f") + 1] if "-f" in args else "Dockerfile"
                if not os.path.isfile(os.path.join(folder, dockerfile)):
                    raise BuildFailure(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                                       f"lstat /workspace/{dockerfile}: no such file or directory")
                check_sources(folder, dockerfile, log)
                step = len(images_built)
                try:
                    runtime = images.install(folder, lambda line, n=step: log(f"Step #{n}: {line}"), dockerfile)
                except layers.StepFailure as failed:
                    for line in failed.lines:
                        log(f"Step #{step}: {line}")
                    raise BuildFailure(str(failed)) from failed
                tags = [args[i + 1] for i, a in enumerate(args) if a == "-t"]
                digest = images.folder_digest(folder)
                images_built += [{"name": tag, "digest": digest, "runtime": runtime} for tag in tags]
                log(f"Successfully built {digest[7:19]}")
            pushed = [{"name": i["name"], "digest": i["digest"]} for i in images_built
                      if i["name"] in build.get("images", [])]
            for image in pushed:
                log(f"The push refers to repository [{images.split_ref(image['name'])[0]}]")
                self._check_repository(image["name"])
                log(f"{images.split_ref(image['name'])[1] or 'latest'}: digest: {image['digest']}")
            for image in images_built:
                images.register(self.store, image["name"], folder, image["digest"], image["runtime"])
            slow = (self.faults.setting("build_ms") if self.faults else 0) / 1000.0
            if slow > time.monotonic() - started:
                time.sleep(slow - (time.monotonic() - started))  # the build_ms fault: a slow build
            forced = self.faults.setting("build_status") if self.faults else ""
            if forced and forced != "SUCCESS":
                log(f"(emulator fault: the build ends {forced})")
                self._finish(name, forced, lines, detail=f"Build {forced.lower()} by the emulator's fault.",
                             forced=True)
            else:
                self._finish(name, "SUCCESS", lines, results={"images": pushed})
        except (BuildFailure, OSError, KeyError, tarfile.TarError, ApiError) as exc:
            log(f"Step #0: {exc}")
            log("ERROR")
            log("ERROR: build step 0 \"gcr.io/cloud-builders/docker\" failed: step exited with non-zero status: 1")
            self._finish(name, "FAILURE", lines, detail=str(exc))

    def _check_repository(self, image):
        """A push to an Artifact Registry repository that does not exist fails, as docker push says it
        (shared/reference/real-api-findings.md: the repository must exist before the push)."""
        repository = self.project.image_repository(image) if self.project else None
        if repository and not self.project.repository_exists(repository):
            raise BuildFailure(f"name unknown: Repository \"{repository.rsplit('/', 1)[-1]}\" not found")

    def _finish(self, name, status, lines, results=None, detail=None, forced=False):
        build = self._build(name)
        if build.get("logsBucket"):
            bucket = build["logsBucket"][len("gs://"):].split("/", 1)[0]
            self.storage.put(bucket, f"log-{build['id']}.txt", ("\n".join(lines) + "\n").encode(), "text/plain")
        with self.store.lock:
            build.update({"status": status, "startTime": build["createTime"], "finishTime": self.now()})
            if results:
                build["results"] = results
            if detail:
                build["statusDetail"] = f"Build failed; check build logs for details: {detail}"
            build["_operation_ok"] = forced  # the build_status fault: an operation without an error
            self.store.save()

    @staticmethod
    def _view(build):
        return render(cloudbuild_v1.Build, {k: v for k, v in build.items() if not k.startswith("_")})

    def get_build(self, name):
        return self._view(self._build(name))

    def list_builds(self, parent, query):
        """Builds of a project, newest first; ``filter`` takes ``tags="T"`` and ``status="S"`` terms joined by AND."""
        terms = re.findall(r'(tags|status)\s*=\s*"?([^"\s]+)"?', query.get("filter", [""])[0])
        with self.store.lock:
            found = [b for n, b in self.store.builds.items() if n.startswith(parent + "/builds/")]
        for field, value in terms:
            found = [b for b in found if (value in b.get("tags", []) if field == "tags" else b.get("status") == value)]
        found.sort(key=lambda b: b["createTime"], reverse=True)
        return {"builds": [self._view(b) for b in found]} if found else {}

    def operation_view(self, operation_name):
        with self.store.lock:
            operation = self.store.build_operations.get(operation_name)
            if operation is None:
                raise not_found(f"Operation {operation_name} not found.")
            stored = self.store.builds[operation["build"]]
            build = self._view(stored)
        view = {"name": operation_name, "metadata": {"@type": METADATA_TYPE, "build": build}}
        if build["status"] in ("SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED"):
            view["done"] = True
            if build["status"] == "SUCCESS" or stored.get("_operation_ok"):
                view["response"] = dict(build, **{"@type": BUILD_TYPE})
            else:
                view["error"] = {"code": 2, "message": build.get("statusDetail", f"Build {build['status']}")}
        return view
