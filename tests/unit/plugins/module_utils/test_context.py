"""The build context as Docker and gcloud see it (module_utils/_context.py), on real folders."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils._context import context_files, upload_files
from ansible_collections.nadle.cloudrun.tests.unit.plugins.module_utils.test_preflight import make


def test_dockerignore_negation_globstar_directories_and_comments(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".dockerignore": "# secrets stay out\n\n.env*\n**/*.md\n!docs/keep.md\nbuild/\n",
        "app.py": "", ".env": "", ".env.prod": "", "README.md": "", "docs/a.md": "", "docs/keep.md": "",
        "build/out.bin": "", "src/pkg/mod.py": "", ".git/HEAD": "", ".venv/bin/python": "",
    })
    assert context_files(root) == [".dockerignore", "Dockerfile", "app.py", "docs/keep.md", "src/pkg/mod.py"]


def test_gcloudignore_then_dockerignore(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".gcloudignore": "# gitignore rules\ntests/\n*.log\n!keep.log\n",
        ".dockerignore": "docs\n", "app.py": "", "tests/test_app.py": "", "debug.log": "", "keep.log": "",
        "docs/index.md": "", "src/tests/helper.py": "",
    })
    assert upload_files(root) == [".dockerignore", ".gcloudignore", "Dockerfile", "app.py", "keep.log"]
