# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: masking secret values in free text, whole or cut short.

Ansible's ``no_log_values`` hides a value only where it appears whole. An app prints secrets in
other shapes: a PEM line by line, pydantic's truncated ``input_value='mongodb+srv://us...'``, a
token cut at a log line's end. So wherever the first ``MIN_RUN`` characters of a secret value, or
of one line of a multi-line value, appear, as much of it as follows is replaced by ``MASK``.

Every string of a result is masked this way but the names and URLs it is made of (``NAMES``): a
secret that begins like a URL (``https://ho...``) would otherwise mask the scheme of the service's
URL that a play goes on to use. Messages, warnings and log lines, under whatever key, are masked.
Written here because no library does it: Ansible's own ``remove_values`` matches whole values only.
"""

from __future__ import annotations

MASK = "********"
MIN_RUN = 8
# Result keys whose strings are names and URLs, masked only whole (Ansible's no_log_values).
NAMES = ("uri", "url", "urls", "log_uri", "image", "image_digest", "digest", "name", "resource_name", "revision",
         "tag", "etag", "uid", "latest_ready_revision", "latest_created_revision", "failed_revision",
         "retried_revision", "creator", "last_modifier", "service_account",
         "secret", "version")  # a Secret Manager reference {secret, version} names a secret, it holds no value


class Masker:
    """Masks each run that starts like one of the values (or a line of one), MIN_RUN characters or more."""

    def __init__(self, values=()):
        self._heads = set()
        self.add(values)

    def add(self, values):
        for value in values:
            value = str(value) if value is not None else ""
            for head in [value] + [line.strip() for line in value.splitlines()]:
                if len(head) >= MIN_RUN:
                    self._heads.add(head)

    def __bool__(self):
        return bool(self._heads)

    def text(self, text):
        """``text`` with every run that starts like a value replaced by MASK."""
        if not self._heads or not isinstance(text, str):
            return text
        hidden = [False] * len(text)
        for head in self._heads:
            start = text.find(head[:MIN_RUN])
            while start >= 0:
                end = start + MIN_RUN
                while end < len(text) and end - start < len(head) and text[end] == head[end - start]:
                    end += 1
                hidden[start:end] = [True] * (end - start)
                start = text.find(head[:MIN_RUN], start + 1)
        out, start = [], 0
        while start < len(text):
            end = start
            while end < len(text) and hidden[end] == hidden[start]:
                end += 1
            out.append(MASK if hidden[start] else text[start:end])
            start = end
        return "".join(out)

    def apply(self, value, key=None):
        """Every string in dicts and lists masked, but those under a key in NAMES."""
        if isinstance(value, str):
            return value if key in NAMES else self.text(value)
        if isinstance(value, dict):
            return {k: self.apply(v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.apply(v, key) for v in value]
        return value
