"""The Training page's curves and progress line say whether the run is still going: a finished
run's legend does not say "running" and its progress line does not estimate a time left."""

from __future__ import annotations

from explorer.training.events import History, Progress
from explorer.viz.training import (
    accuracy_figure,
    loss_figure,
    lr_figure,
    progress_text,
    throughput_figure,
)


def _history(steps: tuple[int, ...] = (1, 2, 3)) -> History:
    h = History()
    for step in steps:
        h.add(
            Progress(
                step=step,
                epoch=1,
                epoch_fraction=step / 3,
                train_loss=1.0 / step,
                train_acc=0.5,
                lr=0.01,
                samples_per_s=100.0,
                eta_s=1.0,
                elapsed_s=float(step),
            )
        )
    return h


def test_legend_says_running_only_while_running() -> None:
    h = _history()
    assert [t.name for t in loss_figure(h).data] == ["training (running)"]
    assert [t.name for t in loss_figure(h, running=False).data] == ["training"]
    assert [t.name for t in accuracy_figure(h, running=False).data] == ["training"]
    assert list(loss_figure(h, running=False).data[0].y) == [1.0, 0.5, 1.0 / 3]


def test_progress_line_of_an_ended_run() -> None:
    assert (
        progress_text(300, 300, None, 812.0, ended="finished", elapsed_s=75.4)
        == "step 300 / 300  ·  812 samples/s  ·  finished after 1 min 15 s"
    )
    assert progress_text(120, 300, 40.0, 812.0, ended="stopped", elapsed_s=9.6).endswith(
        "stopped after 10 s"
    )
    assert progress_text(120, 300, None, 812.0, ended="failed").endswith("·  failed")
    assert progress_text(1, 100, None, 50.0).endswith("estimating time left...")  # still running


def test_a_one_step_run_draws_its_point() -> None:
    # a one-point line draws nothing: a run of a single logged step showed empty charts
    one, three = _history((1,)), _history()
    for figure in (loss_figure, accuracy_figure, lr_figure, throughput_figure):
        assert figure(one).data[0].mode == "lines+markers"
        assert figure(three).data[0].mode == "lines"
