"""The CLI's two failure paths: a user error (HalfwaveError) is one sentence and exit 2;
anything else is a bug, shown with its traceback, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from halfwave.compiler.errors import HalfwaveError
from halfwave.flow import api, cli


def test_user_error_is_one_sentence_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf")
    assert cli.main(["compile", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.onnx" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_bug_shows_traceback_exit_1(tmp_path: Path, capsys, monkeypatch) -> None:
    def broken(*_a, **_k):
        return {}["no such key"]  # an internal bug, not bad input

    monkeypatch.setattr(api, "compile", broken)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    assert cli.main(["compile", str(model), "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'no such key'" in err
    assert not err.startswith("error: ")


def test_value_error_is_a_bug_not_a_user_error(tmp_path: Path, capsys, monkeypatch) -> None:
    """A bare ValueError from inside halfwave used to pass as `error: ...` (exit 2)."""

    def broken(*_a, **_k):
        raise ValueError("internal invariant")

    monkeypatch.setattr(api, "compile", broken)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    assert cli.main(["compile", str(model), "--out", str(tmp_path / "b")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_missing_path_and_bad_model_name_are_refused_by_argparse(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as ex:
        cli.main(["sim", str(tmp_path / "nowhere"), "--inputs", "x.npy", "--out", "y.npy"])
    assert ex.value.code == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ex:
        cli.main(["train", "tfc_w9z9", "--out", str(tmp_path / "a.pt")])
    assert ex.value.code == 2
    assert "unknown model name 'tfc_w9z9'" in capsys.readouterr().err


def test_unreadable_inputs_are_a_user_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.npy").write_text("not numpy")
    args = ["sim", str(tmp_path), "--inputs", str(tmp_path / "x.npy"), "--out", "y.npy"]
    with pytest.raises(SystemExit) as ex:  # no dataflow.json: not a BUILD folder
        cli.main(args)
    assert ex.value.code == 2 and "not a BUILD folder" in capsys.readouterr().err
    (tmp_path / "dataflow.json").write_text("{}")
    rc = cli.main(["sim", str(tmp_path), "--inputs", str(tmp_path / "x.npy"),
                   "--out", str(tmp_path / "y.npy")])  # fmt: skip
    assert rc == 2
    assert "x.npy: not a readable .npy array" in capsys.readouterr().err


def test_named_errors_share_the_base_class() -> None:
    from halfwave.compiler.errors import BoardError, CompileError, InputError
    from halfwave.flow.board.bitstream import FlowError
    from halfwave.flow.synth import SynthError
    from halfwave.sim.verilator import SimBuildError, SimDeadlock, SimError
    from halfwave.training import CheckpointError, ExportError, ImageFolderError

    named = (
        CompileError,
        InputError,
        BoardError,
        FlowError,
        SynthError,
        SimError,
        SimBuildError,
        SimDeadlock,
    )
    for cls in named:
        assert issubclass(cls, HalfwaveError), cls
    from halfwave.flow.cli import _user_error
    from halfwave.training.errors import TrainingError

    for cls in (CheckpointError, ExportError, ImageFolderError):
        assert issubclass(cls, TrainingError) and _user_error(cls("x")), cls
    assert not _user_error(ValueError("a bug")) and not _user_error(KeyError("k"))
