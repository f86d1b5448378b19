"""docs/api.md's examples ("Examples: a first order, from a token to a refund") are requests a client can
copy: each ```http block is sent, in the page's order, to a freshly seeded demo, and must answer the status
the block names; the fields it names (`ORDER=id`) fill the `{ORDER}` of the blocks after it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "## Examples: a first order, from a token to a refund"
_BLOCK = re.compile(r"```http\n(.*?)```", re.S)
_NAME = re.compile(r"\{([A-Z]+)\}")
#: one step of a path: a key or index, or `key[field.path=value]`, the first item of that list matching
_STEP = re.compile(r"([^.\[]+)(?:\[([^=\]]+)=([^\]]*)\])?")


class Example:
    def __init__(self, text: str):
        lines = text.strip("\n").split("\n")
        self.method, self.path = lines[0].split(" ", 1)
        arrow = next(i for i, line in enumerate(lines) if line.startswith("→ "))
        head, _, body = "\n".join(lines[1:arrow]).strip("\n").partition("\n\n")
        self.headers = dict(line.split(": ", 1) for line in head.split("\n") if line)
        self.body = body.strip()
        status, *captures = lines[arrow][2:].split()
        self.status = int(status)
        self.captures = dict(c.split("=", 1) for c in captures)

    def __repr__(self) -> str:
        return f"{self.method} {self.path}"


def examples() -> list[Example]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    return [Example(block) for block in _BLOCK.findall(section)]


def _read(data, path: str):
    for key, field, value in _STEP.findall(path):
        data = data[int(key)] if key.isdigit() else data[key]
        if field:
            data = next(item for item in data if str(_read(item, field)) == value)
    return data


def _fill(text: str, names: dict[str, str]) -> str:
    return _NAME.sub(lambda m: names[m.group(1)], text)


def test_the_examples_section_has_the_journey_it_describes():
    steps = examples()
    assert len(steps) >= 10
    assert {"TOKEN", "ORDER", "LINE", "OPERATOR", "REFUND"} <= {name for s in steps for name in s.captures}


def test_every_example_of_the_api_doc_answers_as_the_doc_says(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    names: dict[str, str] = {}
    for step in examples():
        body = _fill(step.body, names)
        answer = client.open(
            _fill(step.path, names),
            method=step.method,
            headers={k: _fill(v, names) for k, v in step.headers.items()},
            data=json.dumps(json.loads(body)) if body else None,
        )
        assert answer.status_code == step.status, (step, answer.get_json())
        for name, path in step.captures.items():
            try:
                names[name] = str(_read(answer.get_json(), path))
            except (KeyError, IndexError, StopIteration):  # pragma: no cover - the failure's message
                pytest.fail(f"{step}: the answer has no {path}: {answer.get_json()}")


def test_every_demo_account_the_readme_names_signs_in_with_the_password_it_gives(app, client):
    """README "Roles and demo accounts": each account it names is seeded, with the one password it says."""
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Roles and demo accounts") : readme.index("## Configuration")]
    password = re.search(r"All demo accounts use the password `([^`]+)`", section).group(1)
    accounts = sorted(set(re.findall(r"\b[a-z0-9]+@demo\.cn\b", section)))
    assert len(accounts) >= 8, accounts
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    for email in accounts:
        answer = client.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert answer.status_code == 200, (email, answer.get_json())
