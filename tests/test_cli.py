"""The command line: list, plot (check and bench have their own tests)."""

from __future__ import annotations

import pytest

from corelosses._tools.cli import main


def test_list_prints_every_family(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("focal_loss", "dice_loss", "box_iou_loss", "binary_penalty", "linear_ramp"):
        assert name in out


@pytest.mark.parametrize(
    "name", ["focal_loss", "mse_loss", "cross_entropy", "binary_penalty", "huber_loss"]
)
def test_plot_writes_a_png(tmp_path, name):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"{name}.png"
    assert main(["plot", name, "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_rejects_unknown_and_non_losses(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["plot", "no_such_loss", "--out", str(tmp_path / "a.png")]) == 2
    assert "no_such_loss" in capsys.readouterr().err
    assert main(["plot", "linear_ramp", "--out", str(tmp_path / "b.png")]) == 2
    assert "not a loss" in capsys.readouterr().err
