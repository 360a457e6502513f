"""The backend's migration: a Cloud Run job run with each new image before it takes traffic.

The role runs it through cloudrun_deploy_jobs_before_traffic (see inventories/*/host_vars), with the
service's own env and secrets. It checks the settings the service needs, the way the service itself
reads them, and says which MongoDB indexes the release needs. It never prints a setting's value.
A bad setting fails the job, so the deploy stops before any revision or traffic changes.
"""

import sys
from urllib.parse import urlsplit

from pydantic import ValidationError

from settings import Settings

# (collection, field, unique): what the API's queries need.
INDEXES = (("users", "email", True), ("posts", "created_at", False), ("comments", "post_id", False))


def main():
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"The settings are incomplete: {exc}", file=sys.stderr, flush=True)
        return 2
    scheme = urlsplit(settings.mongodb_url).scheme
    if scheme not in ("mongodb", "mongodb+srv"):
        print(f"MONGODB_URL must be a mongodb:// or mongodb+srv:// URL; this one starts with {scheme or '(nothing)'}.",
              file=sys.stderr, flush=True)
        return 3
    print(f"Settings are complete for environment {settings.environment}.", flush=True)
    for collection, field, unique in INDEXES:
        print(f"Index {collection}.{field}{' (unique)' if unique else ''}: would be created if missing.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
