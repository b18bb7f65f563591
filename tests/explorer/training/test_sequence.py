"""Side-by-side sequence training as a generator, run directly and through the job manager."""

from __future__ import annotations

import pytest
import torch

from explorer.data.sequences import VOCAB_SIZE
from explorer.models.recurrent import RecurrentNet
from explorer.probe.recurrent import trace
from explorer.training.events import drain
from explorer.training.job_manager import JobManager, JobState
from explorer.training.sequence import (
    SeqSample,
    SeqStep,
    SequenceRun,
    SequenceSettings,
    SequenceTrainingError,
    sample_text,
    train_sequence_models,
)
from explorer.training.sequence_events import compare_curves


def _run(settings: SequenceSettings, **kw):
    return drain(train_sequence_models(settings, **kw))


def test_sine_forecasting_learns_for_every_cell():
    settings = SequenceSettings(task="sine", hidden_size=16, steps=80, seq_len=30, lr=1e-2)
    events, run = _run(settings)
    assert isinstance(run, SequenceRun) and set(run.models) == {"rnn", "gru", "lstm"}
    steps = [e for e in events if isinstance(e, SeqStep)]
    assert len(steps) == 3 * 80
    assert [e.cell for e in steps[:3]] == ["rnn", "gru", "lstm"]  # lock-step, same batches
    curves = compare_curves(events)
    assert curves == run.curves
    for cell, points in curves.items():
        first = sum(v for _, v in points[:5]) / 5
        last = sum(v for _, v in points[-5:]) / 5
        assert last < 0.5 * first, cell


def test_char_model_samples_text_and_feeds_traces():
    settings = SequenceSettings(
        task="chars", cells=("gru",), hidden_size=16, steps=20, seq_len=16, sample_every=10
    )
    events, run = _run(settings)
    samples = [e for e in events if isinstance(e, SeqSample)]
    assert [s.step for s in samples] == [10, 20] and samples[0].transient
    trained = run.models["gru"]
    assert trained.steps == 20 and trained.config.output_size == VOCAB_SIZE
    model = trained.instantiate()
    text = sample_text(model, "The ", length=30, temperature=0.7, seed=1)
    assert text.startswith("The ") and len(text) == 34
    assert text == sample_text(model, "The ", length=30, temperature=0.7, seed=1)  # seeded
    tr = trace(model, torch.tensor([5, 6, 7]))
    assert tr.get("z").shape == (3, 16)
    assert isinstance(model.explicit().rnn, RecurrentNet)


def test_adding_problem_uses_the_last_step():
    settings = SequenceSettings(task="adding", cells=("lstm",), hidden_size=8, steps=3, seq_len=12)
    _, run = _run(settings)
    model = run.models["lstm"].instantiate()
    pred, _ = model(torch.rand(12, 5, 2))
    assert pred.shape == (5, 1)


def test_stop_request_returns_the_models_trained_so_far():
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 4

    settings = SequenceSettings(task="sine", cells=("rnn",), hidden_size=4, steps=100, seq_len=8)
    events, run = _run(settings, should_stop=should_stop)
    assert run.stopped_early and run.models["rnn"].steps == 4 and len(events) == 4


def test_runs_as_a_background_job_with_pause_and_stop():
    manager = JobManager()
    settings = SequenceSettings(task="sine", cells=("gru",), hidden_size=4, steps=5000, seq_len=8)
    job = manager.submit(
        owner="me",
        device="cpu",
        title="compare",
        factory=lambda control: train_sequence_models(settings, should_stop=control.stop_requested),
    )
    try:
        for _ in range(200):
            if job.latest(SeqStep) is not None:
                break
            job.wait(0.05)
        job.pause()
        assert job.state is JobState.PAUSED
        job.resume()
        job.stop()
        assert job.wait(30)
        assert job.state is JobState.FINISHED
        assert job.result.stopped_early and job.result.models["gru"].steps < 5000
        assert compare_curves(job.log)["gru"]
    finally:
        manager.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(task="poetry"), "Unknown task 'poetry': choose one of chars, sine, adding."),
        (dict(cells=()), "Choose at least one cell type to train."),
        (dict(hidden_size=0), "Hidden size must be between 1 and 256."),
        (dict(lr=0.0), "The learning rate must be in (0, 1]."),
    ],
)
def test_bad_settings_are_explained(kwargs, message):
    with pytest.raises(SequenceTrainingError) as err:
        next(train_sequence_models(SequenceSettings(**kwargs)))
    assert str(err.value) == message


def test_diverging_run_fails_with_a_message(monkeypatch):
    import explorer.training.sequence as seq

    def nan_batch(seq_len, batch, gen=None):
        x = torch.full((seq_len, batch, 1), float("nan"))
        return x, x

    monkeypatch.setattr(seq, "sine_batch", nan_batch)
    settings = SequenceSettings(task="sine", cells=("lstm",), hidden_size=4, steps=5, seq_len=8)
    with pytest.raises(SequenceTrainingError) as err:
        _run(settings)
    assert str(err.value) == "The LSTM diverged (loss is not finite): lower the learning rate."


def test_only_char_models_write_text():
    settings = SequenceSettings(task="sine", cells=("rnn",), hidden_size=4, steps=1, seq_len=8)
    _, run = _run(settings)
    with pytest.raises(SequenceTrainingError, match="Only a character model can write text."):
        sample_text(run.models["rnn"].instantiate())


def test_initial_rebuilds_the_exact_starting_weights():
    settings = SequenceSettings(
        task="sine", cells=("rnn", "lstm"), hidden_size=6, steps=1, seq_len=8, lr=1e-3
    )
    _, run = _run(settings)
    for trained in run.models.values():
        start = trained.initial().state_dict()
        after = trained.state_dict
        # One Adam step moves every weight by at most about lr: a wrong seed would be ~0.1 away.
        gaps = [float((after[name] - start[name]).abs().max()) for name in after]
        assert max(gaps) <= 1.01e-3
        assert max(gaps) > 0
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    run.models["rnn"].initial()
    assert torch.rand(1) == expected  # the caller's random stream is untouched


def test_training_never_touches_the_global_random_stream_and_stores_its_start():
    """Worker threads must not reseed torch's global RNG (they would reset every other thread's)."""
    settings = SequenceSettings(task="adding", cells=("gru",), hidden_size=4, steps=2, seq_len=6)
    before = torch.get_rng_state()
    _, run = _run(settings)
    _, again = _run(settings)
    assert torch.equal(torch.get_rng_state(), before)
    first, second = run.models["gru"], again.models["gru"]
    assert first.initial_state is not None
    for name, value in first.initial_state.items():  # same seed, same start; stored, not re-seeded
        assert torch.equal(value, second.initial_state[name])
        assert torch.equal(first.initial().state_dict()[name], value)
