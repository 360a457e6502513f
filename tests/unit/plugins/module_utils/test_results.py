"""What the modules return about services and revisions (module_utils/_results.py)."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _results


def test_traffic_by_revision_resolves_latest():
    service = {"latestReadyRevision": "projects/p/locations/r/services/s/revisions/s-2",
               "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 90},
                                   {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "s-1",
                                    "percent": 10, "tag": "old"}]}
    assert _results.traffic_by_revision(service) == {"s-2": (90, []), "s-1": (10, ["old"])}
