"""The .env edge cases, with the real python-dotenv."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils._dotenv import (
    DotenvError, parse_env_text, read_env_files,
)


def test_crlf_quotes_export_comments_and_multiline():
    text = ('# settings\r\nexport ENVIRONMENT=production\r\nMONGODB_URL="mongodb+srv://u:p@host/db?x=1"\r\n'
            "SECRET_KEY='sin#gle'\r\nEMPTY=\r\nINLINE=value # a comment\r\n"
            'CERT="-----BEGIN-----\nabc\n-----END-----"\r\nSPACED = padded \r\n')
    values, origins = parse_env_text(text, ".env.prod")
    assert values == {
        "ENVIRONMENT": "production", "MONGODB_URL": "mongodb+srv://u:p@host/db?x=1", "SECRET_KEY": "sin#gle",
        "EMPTY": "", "INLINE": "value", "CERT": "-----BEGIN-----\nabc\n-----END-----", "SPACED": "padded",
    }
    assert origins["ENVIRONMENT"] == ".env.prod:2" and origins["SPACED"] == ".env.prod:10"


def test_interpolation_is_off_unless_asked():
    text = "HOST=db\nURL=mongodb://${HOST}:27017\n"
    assert parse_env_text(text, "f")[0]["URL"] == "mongodb://${HOST}:27017"
    assert parse_env_text(text, "f", interpolate=True)[0]["URL"] == "mongodb://db:27017"


def test_syntax_errors_name_file_and_line():
    text = "A=1\r\nthis is not a setting\r\nB=2\r\nLONELY\r\n"
    with pytest.raises(DotenvError) as err:
        parse_env_text(text, ".env.prod")
    message = str(err.value)
    assert ".env.prod:2: cannot parse 'this is not a setting'" in message
    assert ".env.prod:4: 'LONELY' has no '='" in message


def test_yaml_is_not_a_dotenv_file():
    with pytest.raises(DotenvError) as err:
        parse_env_text("ENVIRONMENT: production\n", "env.yaml")
    assert "env.yaml:1: cannot parse 'ENVIRONMENT: production'" in str(err.value)


def test_later_files_win(tmp_path):
    (tmp_path / "base.env").write_text("A=1\nB=1\n")
    (tmp_path / "prod.env").write_text("B=2\n")
    values, origins = read_env_files([str(tmp_path / "base.env"), str(tmp_path / "prod.env")])
    assert values == {"A": "1", "B": "2"} and origins["B"].endswith("prod.env:1")
    with pytest.raises(DotenvError) as err:
        read_env_files([str(tmp_path / "missing.env")])
    assert "Cannot read .env file" in str(err.value) and "missing.env" in str(err.value)


def test_a_key_given_twice_is_refused_with_both_lines():
    """Issue 26: the last one won, silently."""
    with pytest.raises(DotenvError) as err:
        parse_env_text("A=1\nB=2\nA=3\n", ".env.prod")
    assert ".env.prod:3: 'A' is set again (first at .env.prod:1); give each key once" in str(err.value)


def test_a_binary_file_is_named_not_a_traceback(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(DotenvError) as err:
        read_env_files([str(path)])
    assert f"Cannot read .env file {path}: it is not UTF-8 text (byte 0x89 at offset 0)" in str(err.value)
