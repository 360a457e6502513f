#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_traffic
short_description: Split, tag, promote and roll back the traffic of a Cloud Run service
version_added: 0.1.0
description:
  - Sets which revisions of a service get its requests, and the traffic tags that give a revision its own URL.
    Changing traffic never makes a new revision.
  - One of O(traffic), O(promote), O(rollback) or O(to_latest) says where the traffic goes; O(tags) and
    O(remove_tags) add, move and remove tags, with or without them. Tags not mentioned are kept.
  - Percentages must sum to 100 and every revision must exist and be ready; each problem is reported before any
    write, with the revisions there are.
  - Cloud Run refuses any traffic that names a revision that is not ready, even a tag at 0%. So a tag that is kept
    (not named in the options) on such a revision, for example V(candidate) on a revision that failed to start, is
    removed with a warning; its URL served nothing.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.attributes
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-run >= 0.10.9
  - proto-plus >= 1.24
options:
  name:
    description: The service.
    type: str
    required: true
  traffic:
    description:
      - The whole split. Each target names a revision (or V(LATEST), the newest ready revision), or the revision that
        has a tag now; targets of 0% keep a tag URL without traffic.
    type: list
    elements: dict
    suboptions:
      revision:
        description: A revision name, or V(LATEST).
        type: str
      tag:
        description:
          - The tag to give this target. Without O(traffic[].revision), the revision that has this tag now.
        type: str
      percent:
        description: The share of requests, 0 to 100.
        type: int
        default: 0
  promote:
    description:
      - Send 100% (or O(percent)) to the revision that has this tag (for example V(candidate)); the tag stays.
    type: str
  revision:
    description:
      - With O(promote), the revision the tag must still name. When another deploy of the service moved the tag to
        its own revision since, the task fails and names that revision, instead of promoting someone else's code.
    type: str
    version_added: 0.1.0
  expect_percent:
    description:
      - With O(promote), the share the promoted revision has now, as the last step left it (V(0) before the first
        step of a revision made with no traffic). When it has another share, someone else moved the traffic since
        (a rollback, another deploy); then nothing is moved, and the task fails naming the last writer of the service
        and what serves, so a rollback made during a rollout stays in place.
    type: int
  percent:
    description:
      - With O(promote), the share of the promoted revision, for a gradual rollout in steps such as 10, 50, 100.
        The rest stays with the revisions that serve now, in their proportions.
      - When no other revision serves, the promoted one keeps 100%, so an earlier step run again changes nothing.
    type: int
  rollback:
    description:
      - Send 100% to the revision recorded good (O(record_good)) before the newest recorded one, the last one a
        deploy verified before the current one. A candidate a deploy rejected is never picked.
      - With one revision recorded (no verified revision before it), to that one, since a revision no deploy verified is
        not picked while there is one that was.
      - When the service has no such history, to the newest ready revision created before the service's latest
        revision, with a warning, since that can be a rejected candidate.
      - Running it again changes nothing.
    type: bool
    default: false
  record_good:
    description:
      - Record this revision (a ready revision of the service) as verified good, the newest in the service's history
        (the annotation C(nadle.cloudrun/good-revisions), the last 5, newest first), which O(rollback) reads.
      - A service annotation write, which makes no revision. The M(nadle.cloudrun.cloudrun_deploy) role records each
        candidate once its traffic steps and checks passed.
    type: str
  to_latest:
    description: Send 100% to V(LATEST), so every new ready revision gets the traffic.
    type: bool
    default: false
  tags:
    description: "Tags to add or move, C(tag: revision) (a revision name or V(LATEST))."
    type: dict
  remove_tags:
    description: Tags to remove.
    type: list
    elements: str
  keep_tags:
    description:
      - With O(traffic), set only the percentages and leave every tag where it is now; the tags of O(traffic) are
        not applied. How a failed deploy puts the traffic back without taking the V(candidate) tag back from
        another deploy's revision.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the change to take effect.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Canary, 10% to the candidate
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    traffic:
      - revision: xai-community-backend-00007-kqp
        percent: 90
      - tag: candidate
        percent: 10

- name: Everything to the candidate
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    promote: candidate

- name: Canary step, 10% to the candidate and 90% to what serves now
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    promote: candidate
    percent: 10

- name: Back to the revision that served before the latest one
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    rollback: true

- name: After the checks passed, remember this revision as good (what rollback goes back to)
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    record_good: xai-community-backend-00009-kqp

- name: A preview URL for an old revision, without traffic
  nadle.cloudrun.cloudrun_traffic:
    name: xai-community-backend
    tags:
      before-upgrade: xai-community-backend-00005-abc
"""

RETURN = r"""
traffic:
  description: The split after the change (predicted in check mode), in a fixed order.
  returned: always
  type: list
  elements: dict
  sample: [{revision: xai-community-backend-00007-kqp, percent: 90, tag: null},
           {revision: xai-community-backend-00008-zxv, percent: 10, tag: candidate}]
tag_urls:
  description: The URL of every tag.
  returned: always
  type: dict
  sample: {candidate: "https://candidate---xai-community-backend-abc123-du.a.run.app"}
service:
  description: The service after the change, as returned by M(nadle.cloudrun.cloudrun_service).
  returned: always
  type: dict
good_revisions:
  description: The service's history of revisions recorded good, newest first, after the task.
  returned: always
  type: list
  elements: str
  sample: [xai-community-backend-00009-kqp, xai-community-backend-00007-abc]
rollback_from_history:
  description: Whether O(rollback) chose its revision from the history of revisions recorded good.
  returned: when O(rollback=true)
  type: bool
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._traffic import ensure_traffic


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        traffic=dict(type="list", elements="dict", options=dict(
            revision=dict(type="str"), tag=dict(type="str"), percent=dict(type="int", default=0))),
        promote=dict(type="str"),
        revision=dict(type="str"),
        percent=dict(type="int"),
        expect_percent=dict(type="int"),
        keep_tags=dict(type="bool", default=False),
        rollback=dict(type="bool", default=False),
        to_latest=dict(type="bool", default=False),
        tags=dict(type="dict"),
        remove_tags=dict(type="list", elements="str"),
        record_good=dict(type="str"),
        wait_timeout=dict(type="int", default=300),
    )
    CloudRunModule(argument_spec, libraries=("google-cloud-run",), supports_check_mode=True,
                   mutually_exclusive=[("traffic", "promote", "rollback", "to_latest")]).run(ensure_traffic)


if __name__ == "__main__":
    main()
