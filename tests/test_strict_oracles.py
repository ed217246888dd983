"""Under CI, a skipped oracle fails the run; locally it skips; other skips stay skips."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = '''
import pytest

def test_needs_an_absent_oracle():
    pytest.importorskip("convnet_no_such_oracle_module")

def test_needs_an_absent_dataset():
    pytest.skip("/usr/share/datasets/nothing absent")
'''


@pytest.mark.parametrize("environment, failed", [({"CI": "true"}, 1), ({}, 0),
                                                 ({"CI": "true", "CONVNET_STRICT_ORACLES": "0"}, 0),
                                                 ({"CONVNET_STRICT_ORACLES": "1"}, 1)])
def test_a_missing_oracle_fails_only_when_strict(tmp_path, environment, failed):
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CONVNET_STRICT_ORACLES")}
    env.update(environment, PYTHONPATH=os.pathsep.join([HERE, env.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "strict_oracles", "-q",
                             "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1]
    assert (f"{failed} failed" in summary) == bool(failed), result.stdout
    assert ("2 skipped" if not failed else "1 skipped") in summary, result.stdout
    assert result.returncode == (1 if failed else 0)
