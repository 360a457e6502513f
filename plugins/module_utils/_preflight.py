# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_preflight, the checks made before any upload or build.

A source folder is checked for what would otherwise show only after a slow cloud build; the
settings a deploy will send are checked with cloudrun_service's own rules (``_service_args``).
Neither makes a request. With ``compare``, once all that passed, ``_settled`` reads the live service
and says whether a deploy has anything to do. Each finding is ``{severity, file, line, rule, message, fix}``; severity is ``error``,
``warning``, or ``fixed`` (a CRLF file this run rewrote).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import API_LIBRARIES, CloudRunError, region_problem
from ansible_collections.nadle.cloudrun.plugins.module_utils._context import (
    context_files, links_out, source_archive, source_tag, upload_files,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._dotenv import DotenvError, parse_env_text
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import repository_problem
from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import argument_spec, check_options
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import RESERVED_ENV

try:
    from dockerfile_parse import DockerfileParser
except ImportError:
    HAS_DOCKERFILE_PARSE = False
else:
    HAS_DOCKERFILE_PARSE = True

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache"}
MAX_SCANNED_BYTES = 1024 * 1024
LITERAL_PORT = re.compile(r"(?:--port[= ]|-p[= ]?|--bind[= ]\S*:|0\.0\.0\.0:|localhost:)(\d{2,5})\b")


def finding(severity, file, line, rule, message, fix):
    return {"severity": severity, "file": file, "line": line, "rule": rule, "message": message, "fix": fix}


def _said(found):
    """A finding as one line: where, then what."""
    where = f"{found['file']}{':' + str(found['line']) if found['line'] else ''}: " if found["file"] else ""
    return where + found["message"]


def _is_env_file(name):
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


# ------------------------------------------------------------------- CRLF
def _text_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not os.path.islink(os.path.join(folder, name)):  # a link is checked where it points, if there
                yield os.path.relpath(os.path.join(folder, name), root)


def _needs_lf(root, relpath, entry_scripts, dockerfile):
    name = os.path.basename(relpath)
    if relpath == dockerfile or name.endswith(".sh") or _is_env_file(name) or relpath in entry_scripts:
        return True
    with open(os.path.join(root, relpath), "rb") as handle:
        return handle.read(2) == b"#!"


def check_line_endings(root, dockerfile, entry_scripts, fix, check_mode):
    """Scripts, the Dockerfile, entrypoints and .env files with CRLF (``/bin/bash^M: bad interpreter``)."""
    found = []
    for relpath in _text_files(root):
        path = os.path.join(root, relpath)
        if os.path.getsize(path) > MAX_SCANNED_BYTES or not _needs_lf(root, relpath, entry_scripts, dockerfile):
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        index = data.find(b"\r\n")
        if index < 0:
            continue
        line = data[:index].count(b"\n") + 1
        if fix:
            if not check_mode:
                with open(path, "wb") as handle:
                    handle.write(data.replace(b"\r\n", b"\n"))
            found.append(finding("fixed", relpath, line, "crlf",
                                 f"CRLF line endings (first at line {line}) converted to LF.", None))
        else:
            found.append(finding("error", relpath, line, "crlf",
                                 f"CRLF line endings (first at line {line}); in a container this fails as "
                                 "'/bin/bash^M: bad interpreter' or as values ending in \\r.",
                                 f"Convert to LF (sed -i 's/\\r$//' {relpath}), run with fix: true, and add "
                                 "'* text=auto eol=lf' to .gitattributes."))
    return found


# ------------------------------------------------------------- Dockerfile
def _arguments(value):
    """A COPY/ADD's flags and paths, from the JSON or the plain form."""
    value = value.strip()
    if value.startswith("["):
        try:
            parts = json.loads(value)
        except ValueError:
            parts = None
        if isinstance(parts, list):
            return [], [str(p) for p in parts]
    parts = shlex.split(value, comments=False)
    flags = [p for p in parts if p.startswith("--")]
    return flags, [p for p in parts if not p.startswith("--")]


def _in_context(source, files):
    source = source.lstrip("/").rstrip("/") or "."
    source = os.path.normpath(source)
    if source == ".":
        return True
    return any(fnmatch.fnmatchcase(f, source) or f.startswith(source + "/")
               or any(fnmatch.fnmatchcase(d, source) for d in _parents(f)) for f in files)


def _parents(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def check_copy_sources(root, dockerfile, instructions, files):
    """Every COPY/ADD source must be in the build context after .dockerignore, as Docker requires."""
    found = []
    for ins in instructions:
        if ins["instruction"] not in ("COPY", "ADD"):
            continue
        flags, paths = _arguments(ins["value"])
        if any(f.startswith("--from") for f in flags) or len(paths) < 2:
            continue
        missing = [s for s in paths[:-1] if not re.match(r"^(https?|git)://|^git@", s) and not _in_context(s, files)]
        if missing:
            # Docker stops at the first missing source; name it in Docker's words, and the rest after it.
            source = missing[0]
            exists = os.path.exists(os.path.join(root, source))
            why = ("it is in the folder but .dockerignore excludes it" if exists
                   else "it is not in the folder")
            more = f"; also missing: {', '.join(missing[1:])}" if missing[1:] else ""
            found.append(finding(
                "error", dockerfile, ins["startline"] + 1, "copy-source",
                f"{ins['instruction']} failed: file not found in build context or excluded by .dockerignore: "
                f"stat {source}: file does not exist ({why}{more}).",
                "Do not bake .env files into the image: set the variables with nadle.cloudrun.cloudrun_env or the env "
                "and secrets of cloudrun_service." if _is_env_file(os.path.basename(source)) else
                f"Add {source} to the folder, or remove it from .dockerignore, or change the {ins['instruction']}."))
    return found


def _command_text(instructions):
    """CMD and ENTRYPOINT instructions, each with ``text``: the command as one line in either form."""
    for ins in instructions:
        if ins["instruction"] in ("CMD", "ENTRYPOINT"):
            flags, parts = _arguments(ins["value"]) if ins["value"].strip().startswith("[") else ([], [])
            yield dict(ins, text=" ".join(parts) if parts or flags else ins["value"])


def check_ports(dockerfile, instructions, port):
    """EXPOSE, a port hard-coded in CMD, and $PORT, against the container port the service uses."""
    found = []
    for ins in instructions:
        if ins["instruction"] == "EXPOSE":
            exposed = [p.split("/")[0] for p in ins["value"].split()]
            if str(port) not in exposed:
                found.append(finding("warning", dockerfile, ins["startline"] + 1, "port-expose",
                                     f"EXPOSE {' '.join(exposed)}, but the service's container port is {port}.",
                                     f"EXPOSE {port}, or set the port option of cloudrun_service to what the app "
                                     "listens on."))
    for ins in _command_text(instructions):
        text = ins["text"]
        literal = LITERAL_PORT.search(text)
        if literal and "PORT" not in text:
            number = int(literal.group(1))
            severity = "error" if number != port else "warning"
            found.append(finding(severity, dockerfile, ins["startline"] + 1, "port-hardcoded",
                                 f"{ins['instruction']} listens on port {number}, written into the command, and "
                                 f"ignores $PORT; Cloud Run sends requests to $PORT ({port} for this service).",
                                 f"Listen on ${{PORT:-{port}}}, for example: --port ${{PORT:-{port}}} "
                                 "(with a shell form CMD, or sh -c)."))
    return found


# The Dockerfile reference's instructions (docs.docker.com/reference/dockerfile/); any other fails the build.
INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "COMMENT"}


def check_instructions(dockerfile, instructions):
    """An instruction Docker does not know (``FROMM``): the build would fail at its first line, after the upload."""
    return [finding("error", dockerfile, ins["startline"] + 1, "dockerfile-syntax",
                    f"unknown instruction: {ins['instruction']}",
                    "Fix the spelling; Docker's instructions are FROM, RUN, COPY, ADD, CMD, ENTRYPOINT, ENV, ...")
            for ins in instructions if ins["instruction"] not in INSTRUCTIONS]


def check_healthcheck(dockerfile, instructions):
    return [finding("warning", dockerfile, ins["startline"] + 1, "healthcheck",
                    "Cloud Run ignores a Dockerfile HEALTHCHECK.",
                    "Use startup_probe and liveness_probe of nadle.cloudrun.cloudrun_service, and "
                    "nadle.cloudrun.http_healthcheck after a deploy.")
            for ins in instructions if ins["instruction"] == "HEALTHCHECK"]


# -------------------------------------------------------------- env files
def _env_file_findings(root, path, port):
    """One env file: (its keys, or None when it cannot be read, findings)."""
    shown = os.path.relpath(path, root) if os.path.isabs(path) and path.startswith(root) else path
    full = path if os.path.isabs(path) else os.path.join(root, path)
    try:
        with open(full, encoding="utf-8") as handle:
            values, origins = parse_env_text(handle.read(), shown)
    except OSError as exc:
        return None, [finding("error", shown, None, "env-file", f"Cannot read {shown}: {exc.strerror}.", None)]
    except DotenvError as exc:
        found = []
        for problem in str(exc).splitlines()[1:]:
            location, _sep, text = problem[2:].partition(": ")
            found.append(finding("error", shown, int(location.rsplit(":", 1)[1]), "env-syntax", text,
                                 "Write KEY=VALUE; quote values with spaces or '#'."))
        return None, found
    found = []
    for key in sorted(set(values) & set(RESERVED_ENV)):
        fix = (f"Remove PORT: Cloud Run sets it from the container port ({port}); use the port option of "
               "cloudrun_service to change that." if key == "PORT" else f"Remove {key}: Cloud Run sets it.")
        found.append(finding("error", shown, int(origins[key].rsplit(":", 1)[1]), "env-reserved",
                             f"{key} is reserved: {RESERVED_ENV[key]}", fix))
    return set(values), found


def _example_keys(root, example):
    """The keys of the .env.example file, and its findings; no keys when there is none."""
    path = os.path.join(root, example) if example else None
    if not path or not os.path.isfile(path):
        return set(), []
    try:
        with open(path, encoding="utf-8") as handle:
            return {k for k in parse_env_text(handle.read(), example)[0] if k not in RESERVED_ENV}, []
    except DotenvError as exc:
        return set(), [finding("error", example, None, "env-syntax", str(exc), None)]


def check_env_files(root, env_files, required, example, port, env_keys=None):
    """Syntax with line numbers, reserved names, keys required (an error) and keys of .env.example (a warning).

    ``env_keys``: every key of the env the deploy sends (env, env files and secrets together) when
    the settings are known; then the required keys are checked against them, not the files alone.
    """
    found, keys, unreadable = [], set(env_keys or ()), False
    for path in env_files:
        file_keys, file_found = _env_file_findings(root, path, port)
        found += file_found
        unreadable = unreadable or file_keys is None
        keys |= file_keys or set()
    example_keys, example_found = _example_keys(root, example)
    found += example_found
    if not (env_files or env_keys is not None) or unreadable:  # nothing to look in, or keys unknown
        return found
    where = "env" if env_keys is not None else "env files"
    missing = sorted(set(required or []) - keys)
    if missing:
        found.append(finding("error", ", ".join(env_files) or "env", None, "env-required",
                             f"Missing from the {where}: {', '.join(missing)} (required).",
                             "Add them to an env file, or to the env or secrets of the deploy."))
    # An example lists what an app can read, not what it must have: a warning, not an error.
    unlisted = sorted(example_keys - keys - set(missing))
    if unlisted:
        found.append(finding("warning", example, None, "env-example",
                             f"In {example} but not in the {where}: {', '.join(unlisted)}.",
                             "Set them, or list in required_env the ones the app cannot start without."))
    return found


# ------------------------------------------------------------------- all
EXAMPLE_ENV = (".env.example", ".env.sample", ".env.template", ".env.dist")


def check_uploaded_env(uploaded):
    """A ``.env`` file that a build would upload (``uploaded``, upload_files), and that ``COPY . .`` would put in
    the image: a warning."""
    return [finding("warning", path, None, "env-uploaded",
                    f"{path} would be uploaded with the source and is in the Docker build context, so a COPY of "
                    "the folder puts its values in the image, where anyone who can pull it reads them.",
                    "Add it to .dockerignore (and .gcloudignore); set the values with cloudrun_service's env_files "
                    "and secret_keys instead.")
            for path in uploaded
            if _is_env_file(os.path.basename(path)) and os.path.basename(path) not in EXAMPLE_ENV]


def check_links_out(root, context):
    """Symbolic links in the context that point outside the folder: the build gets the link, which the image
    cannot follow (Docker sends a link as a link)."""
    return [finding("warning", path, None, "link-outside",
                    f"{path} is a symbolic link to {target}, outside {root}: a build gets the link, not the file, so "
                    "the image has a link to nothing there.",
                    "Copy the file into the folder, or build from a folder that holds both (the dockerfile option "
                    "names a Dockerfile below it).")
            for path, target in sorted(links_out(root, context).items())]


def check_env_files_uploaded(root, env_files, uploaded):
    """An env file of the deploy inside the folder, which a build would upload whatever its name."""
    inside = {os.path.relpath(os.path.realpath(p), os.path.realpath(root)) for p in env_files}
    return [finding("warning", path, None, "env-uploaded",
                    f"{path}, an env file of this deploy, would be uploaded with the source and is in the Docker "
                    "build context, so a COPY of the folder puts its values in the image.",
                    "Add it to .dockerignore (and .gcloudignore), or keep it outside the source folder.")
            for path in uploaded if path in inside and not _is_env_file(os.path.basename(path))]


def run_checks(root, dockerfile="Dockerfile", port=8080, env_files=(), required=(), example=".env.example",
               fix=False, check_mode=False, env_keys=None, context=None):
    """Every check on ``root``; returns the findings, errors first. ``context``: context_files of ``root``,
    when the caller listed them already."""
    if not HAS_DOCKERFILE_PARSE:
        raise RuntimeError(missing_required_lib("dockerfile-parse"))
    found = []
    dockerfile_path = os.path.join(root, dockerfile)
    if not os.path.isfile(dockerfile_path):
        return [finding("error", dockerfile, None, "dockerfile", f"{dockerfile} is not in {root}.",
                        "Give the folder that holds the Dockerfile, or the dockerfile option.")]
    with open(dockerfile_path, encoding="utf-8") as handle:
        parser = DockerfileParser(fileobj=handle)
        structure = parser.structure
    last_from = max((i for i, ins in enumerate(structure) if ins["instruction"] == "FROM"), default=-1)
    final_stage = structure[last_from + 1:]
    entry_scripts = set()
    for ins in _command_text(final_stage):
        for token in re.findall(r"[\w./-]+\.sh\b", ins["text"]):
            entry_scripts.add(os.path.normpath(token.lstrip("/").replace("./", "", 1)))
    found += check_line_endings(root, dockerfile, entry_scripts, fix, check_mode)
    context = context if context is not None else context_files(root, dockerfile)
    found += check_copy_sources(root, dockerfile, structure, context)
    found += check_ports(dockerfile, final_stage, port)
    found += check_healthcheck(dockerfile, structure) + check_instructions(dockerfile, structure)
    uploaded = upload_files(root, dockerfile, context)
    found += check_uploaded_env(uploaded) + check_env_files_uploaded(root, env_files or [], uploaded)
    found += check_links_out(root, context)
    found += check_env_files(root, list(env_files or []), list(required or []), example, port, env_keys)
    order = {"error": 0, "warning": 1, "fixed": 2}
    return sorted(found, key=lambda f: (order[f["severity"]], f["file"] or "", f["line"] or 0))


# -------------------------------------------------------- service settings
def _named(problem, names):
    """A problem whose leading option name is replaced by what the caller calls it (a role variable)."""
    option, rest = re.match(r"^(\w*)(.*)$", problem, re.S).groups()
    return f"{names.get(option, option)}{rest}"


def _named_in_spec_error(message, names):
    """An argument spec error (``argument 'cpu' is of type``, ``value of ingress must be``) with the caller's name."""
    for option, name in names.items():
        message = re.sub(rf"(?<=value of ){option}\b|(?<=argument '){option}(?=')", name, message)
    return message


def check_jobs(jobs, name):
    """cloudrun_job's argument spec and rules on each job a deploy will run (named ``name[i]``): problems."""
    if not jobs:
        return []
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.nadle.cloudrun.plugins.module_utils._job import job_argument_spec, job_problems
    problems = []
    for index, job in enumerate(jobs):
        where = f"{name}[{index}]" + (f" ({job['name']})" if isinstance(job.get("name"), str) else "")
        validated = ArgumentSpecValidator(job_argument_spec()).validate(dict(job))
        problems += [f"{where}: {message}" for message in validated.error_messages]
        if not validated.error_messages:
            problems += [f"{where}: {problem}" for problem in job_problems(validated.validated_parameters)]
    return problems


def check_service(service, names, hide):
    """cloudrun_service's argument spec and rules, and a region name, on the settings a deploy will send:
    (findings, the final env's keys or None when they are not known, (checked options, secret values) or
    None when they are not valid).

    ``hide`` is given the secret values, so no message shows them.
    """
    names, service = names or {}, dict(service)
    hide(list((service.get("secrets") or {}).values())
         + [v for k, v in (service.get("env") or {}).items() if k in (service.get("secret_keys") or [])])
    region = region_problem(service.pop("region", None))
    problems = [_named(region, names)] if region else []
    validated = ArgumentSpecValidator(argument_spec()).validate(service)
    problems += [_named_in_spec_error(message, names) for message in validated.error_messages]
    keys = valid = None
    if not validated.error_messages:
        checked, secrets, more = check_options(validated.validated_parameters, lambda option: names.get(option, option))
        hide(secrets.values())
        problems += [_named(p, names) for p in more]
        keys = set(checked.get("env") or {}) | set(secrets) if checked.get("env") is not None else None
        valid = None if problems else (checked, secrets)
    return [finding("error", None, None, "service-option", p, "Fix the setting; nothing was uploaded, built or deployed.")
            for p in problems], keys, valid


def _source_image(params, found, context):
    """The image a build of ``path`` gets (REPOSITORY:src-HASH) and the hash, or (None, None)."""
    if not (params["path"] and params["image_repository"]):
        return None, None
    problem = repository_problem(params["image_repository"], "image_repository")
    if problem:
        found.append(finding("error", None, None, "service-option", _named(problem, params["service_names"]),
                             "Fix the setting; nothing was uploaded, built or deployed."))
        return None, None
    _files, _data, source_hash = source_archive(params["path"], params["dockerfile"],
                                                upload_files(params["path"], params["dockerfile"], context))
    return f"{params['image_repository']}:{source_tag(source_hash)}", f"sha256:{source_hash}"


def _compare(module, valid, image, health):
    """Whether the live service already is as ``service`` asks (reads only; see _settled)."""
    module.require(API_LIBRARIES)  # its reads are REST calls (_rest), not the clients
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.nadle.cloudrun.plugins.module_utils._settled import read_settled
    checked, secrets = valid
    if image and not checked.get("image"):
        checked = dict(checked, image=image)
    if module.params["service"].get("region"):
        module.params["region"] = module.params["service"]["region"]
    try:
        return read_settled(module, checked, secrets, health)
    except CloudRunError as exc:
        if not exc.details.get("disabled_api"):
            raise
        # A project where Cloud Run or Secret Manager is not on yet (a new one) has nothing deployed that
        # could be settled; what to enable, or to report, is for the deploy's API check to say, once
        # for every API (nadle.cloudrun.project_apis), before anything is written.
        return {"settled": False, "changes": ["state"], "secrets_changed": [], "service": None, "traffic": [],
                "health": None, "disabled_apis": [exc.details["disabled_api"]]}


def _option_problems(params):
    """(the health check's options, problems of the options besides the service's): no request."""
    health, problems = None, []
    if params["health"] is not None:
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.nadle.cloudrun.plugins.module_utils._settled import health_problems
        health, problems = health_problems(params["health"])
    if not 1 <= params["port"] <= 65535:
        problems.append(f"port: {params['port']} is not a TCP port (1 to 65535).")
    return health, problems + check_jobs(params["jobs"], params["jobs_name"])


def preflight(module):
    """cloudrun_preflight's result: every finding, errors first; a CloudRunError when any fails the task."""
    params = module.params
    found, env_keys, valid = check_service(params["service"], params["service_names"], module.hide) \
        if params["service"] else ([], None, None)
    health, problems = _option_problems(params)
    found += [finding("error", None, None, "service-option", p, "Fix the setting; nothing was requested.")
              for p in problems]
    if params["compare"] and not params["service"]:
        raise CloudRunError("compare: give service (the settings to compare the live service with).")
    if params["path"] and not os.path.isdir(params["path"]):
        raise CloudRunError(f"path: {params['path']} is not a folder.")
    # The folder is walked once, for the checks and for the source's hash alike.
    context = context_files(params["path"], params["dockerfile"]) \
        if params["path"] and (params["source_checks"] or params["image_repository"]) else None
    if params["path"] and params["source_checks"]:
        found += run_checks(params["path"], params["dockerfile"], params["port"], params["env_files"],
                            params["required_env"], params["env_example"], params["fix"], module.check_mode, env_keys,
                            context)
    image, source_hash = _source_image(params, found, context)
    errors = [f for f in found if f["severity"] == "error"]
    warnings = [f for f in found if f["severity"] == "warning"]
    fixed = [f["file"] for f in found if f["severity"] == "fixed"]
    result = dict(changed=bool(fixed), findings=found, error_count=len(errors), warning_count=len(warnings),
                  fixed_files=fixed, image=image, source_hash=source_hash)
    failing = errors + (warnings if params["fail_on_warnings"] else [])
    if failing:
        lines = [_said(f) for f in failing]
        where = f" in {params['path']}" if params["path"] else ""
        raise CloudRunError(f"Preflight found {len(errors)} error(s) and {len(warnings)} warning(s){where}:\n- "
                            + "\n- ".join(lines), **result)
    for warning in warnings:  # said at default verbosity, not only in the result
        module.warn(f"{_said(warning)} {warning['fix'] or ''}".strip())
    if params["compare"]:
        result.update(_compare(module, valid, image, health))
    return result
