"""The collection on another ansible-core: run by ``make compat`` with .venv-2.16 and .venv-2.18 (issue 18).

What differs between ansible-core versions is ansible-core: its argument validation, templating,
role argument specs, module_defaults and action groups, check mode. So the role deploy of the example
app through playbooks/deploy.yml with inventories/local, its rerun, and a check-mode run with a
change, with that version's ansible-playbook (the interpreter running these tests): the integration
layer's own tests of them, collected here from tests/integration/test_deploy_playbook.py in that order.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
# pylint: disable-next=wrong-import-position,unused-import
from test_deploy_playbook import (  # noqa: E402,F401
    repo,
    test_first_deploy_starts_the_emulator_and_goes_live,
    test_second_run_changes_nothing_and_writes_nothing,
    test_check_mode_after_a_memory_change_predicts_it_and_writes_nothing,
)

import ansible  # noqa: E402  pylint: disable=wrong-import-order


def test_this_is_the_ansible_core_under_test():
    wanted = os.environ.get("NADLE_COMPAT_ANSIBLE")
    assert wanted is None or ansible.__version__.startswith(wanted + "."), ansible.__version__
