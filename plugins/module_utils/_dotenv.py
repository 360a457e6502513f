# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: .env files read as .env files (python-dotenv), never as YAML.

Shared by the ``nadle.cloudrun.dotenv`` lookup and the modules' ``env_files`` option. A common
mistake is a ``.env`` file handed to ``gcloud --env-vars-file``, which parses YAML: ``Failed to
parse YAML``.
"""

from __future__ import annotations

import io

from ansible.module_utils.basic import missing_required_lib

try:
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream
except ImportError:
    HAS_DOTENV = False
else:
    HAS_DOTENV = True


class DotenvError(Exception):
    """A .env file that cannot be read, with the file and line that need fixing."""


def parse_env_text(text, source, interpolate=False):
    """Parse .env text: returns ({key: value}, {key: "source:line"}).

    CRLF line endings, quotes, ``export``, comments and multi-line quoted values are handled by
    python-dotenv. ``${VAR}`` is left as written unless ``interpolate``. A line python-dotenv
    cannot parse, or a key with no ``=``, is an error naming the file and the line.
    """
    if not HAS_DOTENV:
        raise DotenvError(missing_required_lib("python-dotenv"))
    # python-dotenv reads CRLF, but its line count drifts after an error in a CRLF file.
    text = text.replace("\r\n", "\n")
    origins = {}
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line + len(binding.original.string) - len(binding.original.string.lstrip("\n"))
        first = binding.original.string.strip().splitlines()[0] if binding.original.string.strip() else ""
        if binding.error:
            problems.append(f"{source}:{line}: cannot parse '{first}' (expected KEY=VALUE)")
        elif binding.key is not None and binding.value is None:
            problems.append(f"{source}:{line}: '{binding.key}' has no '=' (write {binding.key}= for an empty value)")
        elif binding.key is not None:
            if binding.key in origins:
                # python-dotenv and Docker's --env-file let the last one win; which one was meant is not known.
                problems.append(f"{source}:{line}: '{binding.key}' is set again (first at {origins[binding.key]}); "
                                "give each key once")
            origins[binding.key] = f"{source}:{line}"
    if problems:
        raise DotenvError("Invalid .env file:\n- " + "\n- ".join(problems))
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    return {k: v for k, v in values.items() if v is not None}, origins


def read_env_files(paths, interpolate=False):
    """Read .env files in order, later files winning; returns (values, origins) like parse_env_text."""
    values, origins = {}, {}
    for path in paths or []:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise DotenvError(f"Cannot read .env file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise DotenvError(f"Cannot read .env file {path}: it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                              f"at offset {exc.start}); is it the right file?") from exc
        file_values, file_origins = parse_env_text(text, path, interpolate)
        values.update(file_values)
        origins.update(file_origins)
    return values, origins
