"""The command line: list, plot (check and bench have their own tests)."""

from __future__ import annotations

import pytest

import corelosses as cl
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


SHAPES = [
    "mse_loss",  # elementwise with a target
    "hinge_loss",  # {-1, 1} labels: the targets 0.5 is rejected, the others drawn
    "dice_loss",  # a whole image
    "box_iou_loss",  # boxes
    "triplet_margin_loss",  # three inputs
    "robust_loss",  # a required option
    "gaussian_nll_loss",  # an extra array
]


def test_plot_draws_losses_of_every_shape(tmp_path, monkeypatch):
    # Losses with no one-input curve (embeddings, boxes, sequences, images, extra
    # inputs) are drawn along a line through their catalog example: every loss has
    # a figure (the documentation shows one per function; its build, nox -s docs,
    # draws them all and fails on any that cannot be drawn).
    pytest.importorskip("matplotlib")
    from corelosses._tools import plot

    seen = {}
    real = plot._plot_along_example
    monkeypatch.setattr(
        plot, "_plot_along_example", lambda info, *a: seen.setdefault(info.name, real(info, *a))
    )
    for info in map(cl.get, SHAPES):
        out = tmp_path / f"{info.name}.png"
        plot.plot_loss(info.name, str(out), n=41)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", info.name
    # the scalar picture where there is one, the line through the example otherwise
    assert "mse_loss" not in seen and "hinge_loss" not in seen
    assert {"dice_loss", "box_iou_loss", "triplet_margin_loss"} <= set(seen)
