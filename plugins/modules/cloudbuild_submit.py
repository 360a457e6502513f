#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudbuild_submit
short_description: Build a container image from a source folder with Cloud Build, only when the source changed
version_added: 0.1.0
description:
  - Packs the build context of O(path) into a deterministic tarball (sorted names, fixed times and owners), honouring
    C(.gcloudignore) and then C(.dockerignore) as gcloud and Docker do, never with C(.git) or C(.venv). The tarball's
    hash becomes the image tag, C(src-HASH).
  - When the registry already has that tag, nothing is uploaded and nothing is built, and the task reports no change.
  - Otherwise it uploads the tarball to the Cloud Storage source bucket, runs a C(docker build) with Cloud Build,
    waits with a deadline and returns the image with its digest. A failed build fails the task with the end of the
    build log.
  - Artifact Registry (C(REGION-docker.pkg.dev/PROJECT/REPO/IMAGE)) and C(gcr.io) images both work. Before any
    upload, the Artifact Registry repository is read; when it does not exist the task fails saying how to create it,
    or creates it with O(create_repository=true).
  - With no C(.gcloudignore) in O(path) and a C(.gitignore) there, the files C(.gitignore) ignores are not uploaded,
    as gcloud does (it then uses its default C(.gcloudignore), which ends with C(#!include:.gitignore)).
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-build >= 3.20
  - google-cloud-storage >= 2.14
  - google-cloud-artifact-registry >= 1.11
  - docker >= 7.0
  - pathspec >= 0.12
attributes:
  check_mode:
    description: Says whether a build would run; uploads and builds nothing.
    support: full
  diff_mode:
    description: Nothing to diff.
    support: none
  idempotent:
    description: The same source again finds its image and builds nothing.
    support: full
options:
  path:
    description: The source folder, the build context.
    type: path
    required: true
  image:
    description: The image repository, without a tag, for example C(europe-west1-docker.pkg.dev/PROJECT/apps/backend).
    type: str
    required: true
  tags:
    description: More tags to push the image with, for example a git commit.
    type: list
    elements: str
  dockerfile:
    description: The Dockerfile, relative to O(path).
    type: str
    default: Dockerfile
  bucket:
    description:
      - The Cloud Storage bucket for the source tarball. Defaults to gcloud's, C(PROJECT_cloudbuild) (a domain-scoped
        project's C(:) and C(.) as C(_), and C(google) as C(elgoog)), created when missing.
      - The default bucket is used only when the project owns it (it is among the project's buckets, which needs
        C(storage.buckets.list)). A bucket of that name in another project is refused, as gcloud refuses it (its
        owner could read or replace the source).
    type: str
  create_repository:
    description:
      - Create the Artifact Registry repository of O(image) when it does not exist (Docker format, in the image's
        location, labelled C(managed-by=nadle-cloudrun)). Needs C(artifactregistry.repositories.create)
        (C(roles/artifactregistry.admin)).
      - With V(false), a missing repository fails the task before any upload, with the C(gcloud) command that creates
        it.
    type: bool
    default: false
  build_region:
    description: Where the build runs, a region or V(global).
    type: str
    default: global
  service_account:
    description:
      - The service account the build runs as, an email or C(projects/PROJECT/serviceAccounts/EMAIL). New projects may
        run builds as the Compute Engine default account, which can lack the rights to push and write logs; a build
        account of your own, with C(roles/artifactregistry.writer) on the repository and C(roles/logging.logWriter),
        avoids that.
      - Cloud Build then needs O(logs_bucket), or O(logging) V(CLOUD_LOGGING_ONLY) or V(NONE); without them the task
        fails before any request.
    type: str
  logging:
    description:
      - Where the build log goes (Cloud Build's C(options.logging)). With V(CLOUD_LOGGING_ONLY) or V(NONE) there is no
        log in Cloud Storage, so RV(log_tail) is empty; RV(log_url) still leads to the log in the console.
    type: str
    choices: [LEGACY, GCS_ONLY, CLOUD_LOGGING_ONLY, NONE]
  logs_bucket:
    description: A C(gs://) bucket (and path) for the build log, instead of Cloud Build's default one.
    type: str
  build_timeout:
    description: Seconds the build may take in Cloud Build.
    type: int
    default: 600
  log_in_message:
    description:
      - Put the last lines of a failed build's log in the failure message. With V(false) they are returned in
        RV(log_tail) instead, as data; either way they are in the result once.
      - The M(nadle.cloudrun.cloudrun_deploy) role sets V(false).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the build.
    type: int
    default: 1200
"""

EXAMPLES = r"""
- name: Build the backend when its source changed
  nadle.cloudrun.cloudbuild_submit:
    path: "{{ playbook_dir }}/../backend"
    image: asia-northeast3-docker.pkg.dev/xai-community/apps/backend
    tags: ["{{ lookup('ansible.builtin.pipe', 'git rev-parse --short HEAD') }}"]
    project: xai-community
  register: built

- name: Deploy exactly what was built
  nadle.cloudrun.cloudrun_service:
    name: xai-community-backend
    image: "{{ built.image_digest }}"
    project: xai-community
    region: asia-northeast3
"""

RETURN = r"""
image:
  description: The image with its source tag.
  returned: always
  type: str
  sample: asia-northeast3-docker.pkg.dev/xai-community/apps/backend:src-3f9c2a1b7d0e4c5a6b8f
image_digest:
  description: The image by digest, to deploy exactly what was built; null in check mode when a build would run.
  returned: always
  type: str
  sample: asia-northeast3-docker.pkg.dev/xai-community/apps/backend@sha256:9b1e...
digest:
  description: The image digest.
  returned: always
  type: str
tag:
  description: The source tag, C(src-) and the first 20 hex digits of RV(source_hash).
  returned: always
  type: str
source_hash:
  description: The sha256 of the context tarball.
  returned: always
  type: str
files:
  description: How many files the context has.
  returned: always
  type: int
repository_created:
  description: Whether this task created the Artifact Registry repository (in check mode, would create it).
  returned: always
  type: bool
build_id:
  description: The Cloud Build build ID; null when nothing was built.
  returned: always
  type: str
log_url:
  description: The build's page in the Google Cloud console, with its log; null when nothing was built.
  returned: always
  type: str
log_tail:
  description:
    - The last lines of the build log. On a failed build, only with O(log_in_message=false) (else they are in the
      message).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._build import submit


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
        image=dict(type="str", required=True),
        tags=dict(type="list", elements="str"),
        dockerfile=dict(type="str", default="Dockerfile"),
        bucket=dict(type="str"),
        create_repository=dict(type="bool", default=False),
        build_region=dict(type="str", default="global"),
        service_account=dict(type="str"),
        logging=dict(type="str", choices=["LEGACY", "GCS_ONLY", "CLOUD_LOGGING_ONLY", "NONE"]),
        logs_bucket=dict(type="str"),
        build_timeout=dict(type="int", default=600),
        wait_timeout=dict(type="int", default=1200),
        log_in_message=dict(type="bool", default=True),
    )
    CloudRunModule(argument_spec, libraries=("google-cloud-build", "google-cloud-storage",
                                             "google-cloud-artifact-registry", "docker", "pathspec"),
                   supports_check_mode=True).run(submit)


if __name__ == "__main__":
    main()
