"""The contract the README shows as the language's reference lints clean, so a user who
copies it starts from a valid contract (the console commands are run by
test_doc_commands.py; this is the YAML)."""

from __future__ import annotations

from pathlib import Path

from dqgate.contract import parse_contract

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_reference_contract_is_valid() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("### The contract language\n\n```yaml\n", 1)[1].split("```", 1)[0]
    contract = parse_contract(block, "README.md")
    assert contract.dataset == "flights"
    assert {"id", "loaded_at", "dep_delay"} <= set(contract.columns)
