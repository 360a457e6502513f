"""Masking secret values whole and in part (module_utils/_mask.py)."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils._mask import MASK, Masker

PEM = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END KEY-----"
TOKEN = "tok_live_4f9c2a7e1b8d3c6f0a5e9b2d7c4f1a8e"


def no_run_of(text, secret, size=8):
    return not any(secret[i:i + size] in text for i in range(len(secret) - size + 1))


def test_text_that_only_shares_a_middle_run_is_left_alone():
    masker = Masker(["mongodb://127.0.0.1:27017/xai_community"])
    assert masker.text("service xai-community-backend at http://127.0.0.1:8123") == \
        "service xai-community-backend at http://127.0.0.1:8123"


def test_a_line_of_a_multi_line_secret_is_masked():
    masker = Masker([PEM])
    out = masker.text("key line: MIIEvQIBADANBgkqhkiG9w0BAQEF (from settings)")
    assert out == f"key line: {MASK} (from settings)"


def test_a_truncated_copy_is_masked():
    # pydantic shows input_value='tok_live_4f9c2a7e...' in its validation errors.
    masker = Masker([TOKEN])
    out = masker.text(f"input_value='{TOKEN[:17]}...', input_type=str")
    assert no_run_of(out, TOKEN) and out.startswith("input_value='") and out.endswith("...', input_type=str")


def test_every_text_in_a_result_is_masked_and_names_and_urls_are_left_whole():
    masker = Masker([TOKEN, PEM, "https://hooks.example.com/T000/B000"])
    result = {"msg": f"failed: {PEM}", "percent": 100, "uri": "https://svc.a.run.app",
              "log_lines": [f"token={TOKEN}"],  # cloudrun_service's failure: a key no list had to name
              "services": [{"revisions": [{"log": [f"token={TOKEN[:20]}", "tok_liv is fine"]}]}]}
    out = masker.apply(result)
    assert all(no_run_of(str(out), secret) for secret in (TOKEN, PEM))
    assert out["percent"] == 100 and out["services"][0]["revisions"][0]["log"][1] == "tok_liv is fine"
    assert out["uri"] == "https://svc.a.run.app"  # a name or a URL: a URL-like secret leaves it alone


def test_a_secret_reference_names_a_secret_and_is_left_whole():
    masker = Masker(["service-secret-1b7e"])
    ref = {"APP_TOKEN": {"secret": "it-service-app-token", "version": "1"}}
    assert masker.apply({"diff": {"after": {"env": ref}}}) == {"diff": {"after": {"env": ref}}}
    assert masker.text("token service-secret-1b7e") == "token ********"


def test_no_values_changes_nothing():
    assert Masker().text("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert not Masker([None, ""])
