"""The command line: one-line errors with exit status 2, defaults in --help, --epochs 0
refused."""
import pytest

from fusednn import cli


def test_bad_flag_values_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--epochs", "0"])
    assert stop.value.code == 2
    assert "--epochs: must be at least 1, got 0" in capsys.readouterr().err


def test_missing_data_is_one_line_not_a_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEDNN_DATA", str(tmp_path))
    assert cli.main(["train", "--dataset", "mnist", "--epochs", "1",
                     "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fusednn train: error: mnist: no local copy")


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "(default: 0.001; 0.01 for lstm and gru)" in out
    assert "(default: 20; 40 for lstm and gru)" in out
