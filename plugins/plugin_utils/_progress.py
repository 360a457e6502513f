# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: signs of life while a module waits for a build or a rollout.

A build may take twenty minutes and a rollout several, and Ansible prints nothing while a module
runs. The action plugins of the modules that wait run the module in a thread of the worker and,
meanwhile, print a line with the elapsed time (first after FIRST seconds, then every EVERY), as
Terraform's "Still creating... [1m0s elapsed]". They go through Ansible's Display, which a worker
sends to the main process, so they show at default verbosity with every stdout callback, on
stderr, where a JSON callback's stdout stays valid.

When the module runs on the controller (a local connection, as the role's inventories use), it
also says what it is waiting for (a build's ID and log URL, the revision a rollout waits on) by
appending JSON lines to the file named by NADLE_CLOUDRUN_PROGRESS (module_utils/_progress.py), and
those are printed as they come, once the step has taken EVENTS_AFTER seconds (a quick step's result
says it all). async tasks are left to Ansible's own polling.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

DISPLAY = Display()
FIRST = 10.0
EVERY = 20.0
EVENTS_AFTER = 3.0  # a step done sooner says nothing: its result has it all
ENV = "NADLE_CLOUDRUN_PROGRESS"


def elapsed_text(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ProgressAction(ActionBase):
    """The module of the same name, with progress lines while it runs."""

    _host = ""

    def _say(self, text):
        DISPLAY.display(f"[{self._task.get_name(include_role_fqcn=False)}] {self._host}: {text}", stderr=True)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = True
        result = super().run(tmp, task_vars)
        del tmp  # not used
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if wrap_async:
            return merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=True))
        self._host = (task_vars or {}).get("inventory_hostname", "")
        events = self._events_file()
        answer = {}

        def work():
            try:
                answer["result"] = self._execute_module(task_vars=task_vars)
            except BaseException as exc:  # pylint: disable=broad-except  # raised again below, in this thread
                answer["error"] = exc

        worker = threading.Thread(target=work, name="nadle-cloudrun-module", daemon=True)
        started = time.monotonic()
        next_line, read = FIRST, 0
        worker.start()
        try:
            while worker.is_alive():
                worker.join(1.0)
                if time.monotonic() - started >= EVENTS_AFTER:
                    read = self._print_events(events, read)
                if worker.is_alive() and time.monotonic() - started >= next_line:
                    self._say(f"still running, {elapsed_text(time.monotonic() - started)} elapsed")
                    next_line += EVERY
        finally:
            if events:
                try:
                    os.remove(events)
                except OSError:
                    pass
        self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        if "error" in answer:
            raise answer["error"]
        return merge_hash(result, answer["result"])

    def _events_file(self):
        """A file the module can write what it waits for to, when it runs on this machine; else None."""
        if getattr(self._connection, "transport", None) != "local":
            return None
        handle, path = tempfile.mkstemp(prefix="nadle-cloudrun-progress-", suffix=".jsonl")
        os.close(handle)
        environment = self._task.environment
        environment = list(environment) if isinstance(environment, list) else ([environment] if environment else [])
        self._task.environment = environment + [{ENV: path}]
        return path

    def _print_events(self, path, offset):
        """Print the events written since ``offset``; returns the new offset."""
        if not path:
            return offset
        try:
            with open(path, encoding="utf-8") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except OSError:
            return offset
        complete = chunk[:chunk.rfind("\n") + 1]
        for line in complete.splitlines():
            try:
                self._say(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError):
                continue
        return offset + len(complete.encode("utf-8"))
