"""Emulator state: one lock, plain JSON-able dicts, written to --state-dir after each change."""

import json
import os
import threading


class Store:
    """Every API object the emulator holds, keyed by its full resource name."""

    SECTIONS = ("services", "revisions", "operations", "policies", "images", "urls", "secrets", "buckets", "objects",
                "builds", "build_operations",
                "project", "apis", "repositories", "project_operations", "jobs", "executions", "tasks", "keys")

    def __init__(self, state_dir=None):
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.data = {section: {} for section in self.SECTIONS}
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
            path = self._path()
            if os.path.exists(path):
                with open(path, encoding="utf-8") as handle:
                    loaded = json.load(handle)
                for section in self.SECTIONS:
                    self.data[section].update(loaded.get(section, {}))

    def _path(self):
        return os.path.join(self.state_dir, "state.json")

    def __getattr__(self, section):
        if section in Store.SECTIONS:
            return self.data[section]
        raise AttributeError(section)

    def save(self):
        """Write the state atomically, so a crash never leaves half a file."""
        if not self.state_dir:
            return
        with self.lock:
            tmp = self._path() + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=1, sort_keys=True)
            os.replace(tmp, self._path())
