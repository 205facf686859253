import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import SourceFactory, snapshot
from trainplat.doris.preview import main

WINDOW = ["--start", "2026-01-01T00:00:00Z", "--end", "2026-01-02T00:00:00Z"]


def test_preview_prints_first_rows_of_half_open_window(
    make_source: SourceFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [snapshot(f"e{i}", i * 60, {"x": i, "c": f"v{i}"}) for i in range(30)]
    rows.append(snapshot("at-end", 86400, {"x": 0}))
    source = make_source(rows)

    code = main(["--source", str(source), *WINDOW, "--limit", "5", "--count"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == ["uuid", "node_id", "time", "is_tag", "features"]
    assert [line.split()[0] for line in out[2:7]] == ["e0", "e1", "e2", "e3", "e4"]
    assert out[-1].startswith("-- 5 rows shown of 30; window [2026-01-01T00:00:00+00:00")


def test_preview_feature_keys_become_columns(
    make_source: SourceFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_source([snapshot("a", 1, {"x": 1.5, "c": "q", "z": 0})])

    code = main(["--source", str(source), *WINDOW, "--feature-keys", "x,c", "missing"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == ["uuid", "node_id", "time", "is_tag", "c", "missing", "x"]
    assert out[2].split()[-2:] == ["q", "1.5"]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--feature-keys", "a'b"], "single quote"),
        (["--limit", "0"], "--limit"),
        (["--password-env", "X_PW"], "password_env"),
    ],
)
def test_preview_bad_arguments_exit_2(
    make_source: SourceFactory,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    problem: str,
) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])

    code = main(["--source", str(source), *WINDOW, *extra])

    assert code == 2
    assert problem in capsys.readouterr().err


def test_preview_runs_as_module(make_source: SourceFactory, tmp_path: Path) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])

    done = subprocess.run(
        [sys.executable, "-m", "trainplat.doris.preview", "--source", str(source), *WINDOW],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert "1 rows shown" in done.stdout
