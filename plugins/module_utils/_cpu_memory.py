# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: Cloud Run's CPU and memory rules, as one table. Pure functions.

Written from Cloud Run's documentation, not from the emulator (which keeps its own table from the
same pages, so that a test where both agree with the docs has two witnesses):

- "Configure CPU limits for services" (cloud.google.com/run/docs/configuring/services/cpu): the
  vCPU and memory table; "any value between 0.08 and 1, in increments of 0.001. Values greater
  than 1 must be integer values"; at most 8 vCPU; and below 1 vCPU: more than 512 MiB needs 0.5
  vCPU, more than 1 GiB needs 1 vCPU, "Maximum concurrency must be set to 1", request-based
  billing (CPU only during requests: ``cpu_idle``), "the first generation execution environment".
- "Configure memory limits": at least 128 MiB, and 512 MiB in the second generation environment.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MI = 2**20
GI = 2**30
# Whole vCPUs -> (least, most) memory.
MEMORY_BY_WHOLE_CPU = {1: (128 * MI, 4 * GI), 2: (128 * MI, 8 * GI), 4: (2 * GI, 16 * GI),
                       6: (4 * GI, 24 * GI), 8: (4 * GI, 32 * GI)}
# Below 1 vCPU: (from this many vCPU, most memory), largest first.
MEMORY_BELOW_ONE_CPU = ((Decimal("0.5"), GI), (Decimal("0.08"), 512 * MI))
MIN_CPU, CPU_STEP = Decimal("0.08"), Decimal("0.001")
MIN_MEMORY = {"gen2": 512 * MI}  # else 128 MiB
MEMORY_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$")
MEMORY_UNITS = {None: 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def parse_cpu(value):
    """CPUs as a Decimal (``"1"``, ``"1000m"``, ``"0.5"``, ``2``), or None when it is not a CPU quantity."""
    text = str(value).strip() if value is not None else ""
    try:
        return Decimal(text[:-1]) / 1000 if text.endswith("m") else Decimal(text)
    except InvalidOperation:
        return None


def parse_memory(value):
    """Bytes (``"512Mi"``, ``"1Gi"``, ``"1G"``), or None when it is not a memory quantity."""
    match = MEMORY_RE.match(str(value).strip()) if value is not None else None
    if not match:
        return None
    return int(Decimal(match.group(1)) * MEMORY_UNITS[match.group(2)])


def _size(count):
    return f"{count // GI}Gi" if count % GI == 0 else f"{count // MI}Mi"


def memory_range(cpu):
    """(least, most) memory Cloud Run allows with ``cpu`` vCPUs (a valid value)."""
    if cpu >= 1:
        return MEMORY_BY_WHOLE_CPU[int(cpu)]
    return 128 * MI, next(most for least, most in MEMORY_BELOW_ONE_CPU if cpu >= least)


def _own_problems(settings, found):
    """cpu and memory each on its own: (cpu, memory) parsed, or None where missing or refused."""
    cpu = memory = None
    if settings.get("cpu") is not None:
        cpu = parse_cpu(settings["cpu"])
        fraction_ok = cpu is not None and MIN_CPU <= cpu < 1 and cpu == cpu.quantize(CPU_STEP)
        if not (fraction_ok or cpu in MEMORY_BY_WHOLE_CPU):
            found.append(f"cpu: '{settings['cpu']}' is not a CPU value Cloud Run accepts. Use 0.08 to 1 in steps "
                         "of 0.001 (for example 0.5 or 500m), or a whole number: 1, 2, 4, 6 or 8.")
            cpu = None
    if settings.get("memory") is not None:
        memory = parse_memory(settings["memory"])
        if memory is None:
            found.append(f"memory: '{settings['memory']}' is not a memory quantity. Use a number with Mi or Gi "
                         "(for example 512Mi or 2Gi); MB and GB are not units Kubernetes or Cloud Run accept.")
        elif not 128 * MI <= memory <= 32 * GI:
            found.append(f"memory: '{settings['memory']}' is outside Cloud Run's range of 128Mi to 32Gi.")
            memory = None
    return cpu, memory


def _fractional_cpu_problems(settings, named, found):
    """Below 1 vCPU: one request at a time, request-based billing, gen1."""
    below = f"less than 1 vCPU ({named('cpu')})"
    if (settings.get("concurrency") or 0) > 1:
        found.append(f"{below} needs concurrency 1, and {named('concurrency')} is set; Cloud Run allows "
                     "one request at a time per instance below 1 vCPU.")
    if settings.get("cpu_idle") is False:
        found.append(f"{below} needs request-based billing, and {named('cpu_idle')} asks for CPU always "
                     "allocated; set cpu_idle true or cpu to 1 or more.")
    if settings.get("execution_environment") == "gen2":
        found.append(f"{below} needs the first generation execution environment, and "
                     f"{named('execution_environment')} is set; use gen1 or cpu 1 or more.")


def problems(settings, origin=None):
    """What Cloud Run refuses in ``settings``: one message each, naming every option involved.

    ``settings`` maps ``cpu``, ``memory``, ``concurrency``, ``cpu_idle`` and
    ``execution_environment`` to a value, or None where it is not known (yet). ``origin`` says
    where a value not given as an option came from (``{"concurrency": "the service's value"}``).
    """
    origin = origin or {}

    def named(option):
        value = settings[option]
        shown = str(value).lower() if isinstance(value, bool) else value
        return f"{option} {shown}" + (f" ({origin[option]})" if option in origin else "")

    found = []
    cpu, memory = _own_problems(settings, found)
    if cpu is not None and memory is not None:
        least, most = memory_range(cpu)
        if not least <= memory <= most:
            found.append(f"{named('cpu')} with {named('memory')}: with {cpu.normalize()} vCPU Cloud Run allows "
                         f"{_size(least)} to {_size(most)} of memory; change cpu or memory.")
    environment = settings.get("execution_environment")
    if memory is not None and memory < MIN_MEMORY.get(environment, 0):
        found.append(f"{named('memory')} with {named('execution_environment')}: the second generation execution "
                     f"environment needs at least {_size(MIN_MEMORY[environment])}; raise memory or use gen1.")
    if cpu is not None and cpu < 1:
        _fractional_cpu_problems(settings, named, found)
    return found
