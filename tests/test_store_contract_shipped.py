"""The shipped store contract (``dynafold.testing.store_contract``) can fail, and runs outside this repository's tests.

A third party's test module is generated in ``tmp_path`` and run by pytest
in a process of its own, with only the installed packages to import (no
``tests`` package, no conftest of ours). A store that ignores the expected
token lets two writers with the same token both win, and the contract says
so; a correct store without a fault hook passes every case but the fault
cases, which skip with a one-line reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

THIRD_PARTY = textwrap.dedent('''
    import sys

    from dynafold.projector.stores.base import DocumentWrite
    from dynafold.projector.stores.memory import MemoryStore
    from dynafold.testing.store_contract import PortFaults, StoreContract


    class IgnoresTokens(MemoryStore):
        """Broken on purpose: every write wins, whatever token it expected."""

        def write(self, writes):
            with self._lock:
                current = self.reload([w.key for w in writes])
                return super().write([DocumentWrite(w.key, current[w.key].token if w.key in current else None,
                                                    w.state, w.body) for w in writes])


    class TestIgnoresTokens(StoreContract):
        shared = None

        def make_store(self):
            if self.shared is None:
                self.shared = IgnoresTokens()
            return self.shared

        def make_faults(self, store, rng):
            return PortFaults(store, rng)


    class TestWithoutFaultHook(StoreContract):
        shared = None

        def make_store(self):
            if self.shared is None:
                self.shared = MemoryStore()
            return self.shared


    def test_nothing_was_imported_from_the_test_suite():
        assert [m for m in sys.modules if m == "tests" or m.startswith("tests.")] == []
''')


def run_third_party(tmp_path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """Run the generated module; (class, case) -> (outcome, message) from pytest's JUnit XML."""
    (tmp_path / "test_my_store.py").write_text(THIRD_PARTY)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", "report.xml", "test_my_store.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # 1: some cases failed (not a usage or collection error)
    outcomes = {}
    for case in ET.parse(tmp_path / "report.xml").iter("testcase"):
        cls = case.get("classname").rsplit(".", 1)[-1]
        found = [(child.tag, child.get("message") or "") for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[(cls, case.get("name"))] = found[0] if found else ("passed", "")
    return outcomes


def test_the_shipped_contract_fails_a_store_that_ignores_the_expected_token(tmp_path):
    outcomes = run_third_party(tmp_path)
    broken = {name: result for (cls, name), result in outcomes.items() if cls == "TestIgnoresTokens"}
    assert len(broken) == 33
    kind, message = broken["test_two_writers_with_the_same_token_exactly_one_wins"]
    assert kind == "failure" and message.startswith("AssertionError") and "'Written', 'Written'" in message, message
    failed = {name for name, (kind, _) in broken.items() if kind == "failure"}
    assert {"test_two_creators_of_the_same_new_document_exactly_one_wins",
            "test_a_stale_token_is_a_conflict_and_leaves_the_document_unchanged"} <= failed
    assert not [name for name, (kind, _) in broken.items() if kind == "error"]
    assert outcomes[("test_my_store", "test_nothing_was_imported_from_the_test_suite")] == ("passed", "")


def test_cases_whose_hook_is_missing_skip_with_a_one_line_reason(tmp_path):
    outcomes = run_third_party(tmp_path)
    correct = {name: result for (cls, name), result in outcomes.items() if cls == "TestWithoutFaultHook"}
    skipped = {name: message for name, (kind, message) in correct.items() if kind == "skipped"}
    assert sorted(skipped) == [
        "test_a_429_storm_that_ends_during_the_backoff_converges_in_the_same_batch",
        "test_a_429_storm_that_outlasts_the_retries_fails_the_batch_and_redelivery_converges",
        "test_a_connection_reset_mid_batch_fails_the_batch_and_redelivery_converges",
        "test_lost_write_answers_are_harmless",
    ]
    for message in skipped.values():
        assert "make_faults" in message and "\n" not in message, message
    assert {kind for name, (kind, _) in correct.items() if name not in skipped} == {"passed"}
    assert len(correct) == 33


def test_a_fault_hook_without_a_switch_skips_the_case_that_needs_it():
    import pytest
    from _pytest.outcomes import Skipped

    from dynafold.projector.stores.memory import MemoryStore
    from dynafold.testing.store_contract import StoreContract

    class NoStorm:
        def __init__(self, store):
            self.store = store

    class Contract(StoreContract):
        def make_store(self):
            return MemoryStore()

        def make_faults(self, store, rng):
            return NoStorm(store)

    with pytest.raises(Skipped, match=r"^NoStorm has no storm\(\) to make every write answer 429"):
        Contract().faults(MemoryStore(), "storm")


def test_importing_the_test_kit_does_not_need_pytest():
    code = ("import sys; sys.modules['pytest'] = None; import dynafold.testing\n"
            "try:\n    import dynafold.testing.store_contract\nexcept ImportError:\n    print('contract needs pytest')")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "contract needs pytest"
