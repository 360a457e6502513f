# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dotenv
short_description: Read .env files into a dictionary
version_added: 0.1.0
author:
  - nadle engineers (@nadle)
description:
  - Reads one or more C(.env) files on the controller with python-dotenv and returns one dictionary;
    a key in a later file wins.
  - Handles CRLF line endings, single and double quotes, C(export KEY=value), comments and multi-line quoted values.
  - A line that cannot be parsed fails the lookup with the file and the line number.
  - Files are read as C(.env) files, never as YAML (what C(gcloud --env-vars-file) expects).
options:
  _terms:
    description: Paths of the .env files, relative paths searched like other lookups' files (C(files/) of a role).
    required: true
    type: list
    elements: path
  interpolate:
    description: Expand C(${VAR}) from earlier keys and the controller's environment.
    type: bool
    default: false
requirements:
  - python-dotenv >= 1.0
notes:
  - Keep secret values out of plain O(nadle.cloudrun.cloudrun_service#module:env); pass them as
    O(nadle.cloudrun.cloudrun_service#module:secrets) so they go to Secret Manager and never into output.
"""

EXAMPLES = r"""
- name: Deploy with the settings of .env.prod, secrets kept in Secret Manager
  nadle.cloudrun.cloudrun_env:
    name: xai-community-backend
    env: "{{ lookup('nadle.cloudrun.dotenv', 'files/.env.prod') }}"
    secret_keys: [MONGODB_URL, SECRET_KEY]

- name: Base settings, then the environment's overrides
  ansible.builtin.set_fact:
    backend_env: "{{ lookup('nadle.cloudrun.dotenv', '.env', '.env.' ~ stage) }}"
"""

RETURN = r"""
_value:
  description: One dictionary of every key in the files.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nadle.cloudrun.plugins.module_utils._dotenv import DotenvError, read_env_files


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        paths = []
        for term in terms:
            found = self.find_file_in_search_path(variables, "files", term, ignore_missing=True)
            if not found:
                raise AnsibleLookupError(f"Cannot find the .env file '{term}'.")
            paths.append(found)
        try:
            values, _origins = read_env_files(paths, interpolate=self.get_option("interpolate"))
        except DotenvError as exc:
            raise AnsibleLookupError(str(exc)) from exc
        return [values]
