"""Character encoding, signals, tasks and the shipped corpus."""

from __future__ import annotations

import pytest
import torch

from explorer.data.sequences import (
    COPY_SYMBOLS,
    MAX_STEPS,
    SIGNALS,
    UNK,
    VOCAB,
    VOCAB_SIZE,
    SequenceInputError,
    adding_problem,
    cap_steps,
    char_batch,
    copy_task,
    corpus_ids,
    decode,
    display_char,
    encode_text,
    load_corpus,
    make_signal,
    sine_batch,
    task_for_input,
)


def test_round_trip_of_plain_text():
    enc = encode_text("Hello, world!\nLSTM 42")
    assert decode(enc.ids) == "Hello, world!\nLSTM 42"
    assert enc.notes == [] and enc.unknown == [] and not enc.truncated
    assert enc.ids.dtype == torch.long and len(enc.ids) == 21


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_gives_a_message(text):
    with pytest.raises(SequenceInputError) as err:
        encode_text(text)
    assert str(err.value) == "The text is empty: type a few words to see the network read them."


def test_unknown_characters_become_the_unknown_symbol_with_a_note():
    enc = encode_text("café 東京 é")
    assert enc.text == f"caf{UNK} {UNK}{UNK} {UNK}"
    assert enc.unknown == ["é", "東", "京"]
    assert enc.ids[3].item() == 0 == VOCAB.index(UNK)
    assert enc.notes[0].startswith("4 character(s) are not in the vocabulary ('é', '東', '京')")


def test_typographic_quotes_are_made_plain():
    enc = encode_text("\u201cit\u2019s\u201d \u2013 ok")
    assert enc.text == '"it\'s" - ok' and not enc.unknown


def test_too_long_text_is_capped_with_a_message():
    enc = encode_text("ab" * 700)
    assert len(enc.ids) == MAX_STEPS and enc.truncated
    assert enc.notes == [
        "The text has 1400 characters; only the first 1000 are used (the limit is 1000 steps)."
    ]


def test_cap_steps():
    assert cap_steps(5000) == (1000, "The sequence has 5000 steps; only the first 1000 are used.")
    assert cap_steps(10) == (10, None)
    assert cap_steps(0)[0] == 1


def test_display_char_makes_whitespace_visible():
    assert (
        display_char(" ") == "\u2423"
        and display_char("\n") == "\u21b5"
        and display_char("a") == "a"
    )


def test_the_corpus_ships_and_is_inside_the_vocabulary():
    text = load_corpus()
    assert len(text) > 4000
    assert set(text) <= set(VOCAB[1:]), set(text) - set(VOCAB)
    assert "README" not in text  # the licence note is not training text
    assert (corpus_ids() > 0).all()


@pytest.mark.parametrize("kind", SIGNALS)
def test_every_signal_has_shape_labels_and_features(kind):
    sig = make_signal(kind, 120, seed=3)
    assert sig.values.shape[0] == 120 == len(sig.labels)
    assert sig.values.shape[1] == len(sig.feature_names)
    assert sig.values.dtype == torch.float32


def test_signal_values():
    sine = make_signal("sine", 50, period=25)
    torch.testing.assert_close(sine.values[25, 0], torch.tensor(0.0), atol=1e-5, rtol=0)
    square = make_signal("square", 50, period=10)
    assert set(square.values[:, 0].tolist()) == {-1.0, 1.0}
    saw = make_signal("sawtooth", 50, period=10)
    assert saw.values[0, 0] == -1.0 and saw.values[5, 0] == 0.0
    assert (
        make_signal("noisy", 50, seed=1).values.std() > make_signal("sine", 50).values.std() * 0.9
    )


def test_long_signal_is_capped_with_a_message():
    sig = make_signal("sine", 5000)
    assert len(sig.values) == MAX_STEPS and sig.truncated
    assert sig.notes[0] == "The sequence has 5000 steps; only the first 1000 are used."


def test_unknown_signal_message():
    with pytest.raises(SequenceInputError, match="Unknown signal 'triangle'"):
        make_signal("triangle", 10)


def test_adding_problem_target_is_the_sum_of_the_two_marked_values():
    x, y = adding_problem(16, 30, torch.Generator().manual_seed(0))
    assert x.shape == (30, 16, 2) and y.shape == (16,)
    assert (x[:, :, 1].sum(0) == 2).all()
    assert (x[:15, :, 1].sum(0) == 1).all()  # one mark in each half
    torch.testing.assert_close(y, (x[:, :, 0] * x[:, :, 1]).sum(0))


def test_copy_task_recalls_the_first_symbols_at_the_end():
    x, y = copy_task(4, 20, torch.Generator().manual_seed(0), length=5)
    assert x.shape == (20, 4, COPY_SYMBOLS + 2)
    symbols = x.argmax(-1)
    assert (symbols[14] == COPY_SYMBOLS + 1).all()  # the "go" marker
    torch.testing.assert_close(y[15:], symbols[:5])
    assert (y[:15] == 0).all()


def test_training_batches():
    ids = torch.arange(100) % VOCAB_SIZE
    x, y = char_batch(ids, 10, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (10, 4)
    torch.testing.assert_close(x[1:], y[:-1])
    xs, ys = sine_batch(20, 3)
    assert xs.shape == ys.shape == (20, 3, 1)
    torch.testing.assert_close(xs[1:], ys[:-1])


def test_each_input_is_read_by_its_training_task() -> None:
    from explorer.training.sequence_tasks import TASKS

    kinds = {signal: task_for_input("signal", signal) for signal in SIGNALS}
    assert kinds == {
        "sine": "sine",
        "square": "sine",
        "sawtooth": "sine",
        "noisy": "sine",
        "adding": "adding",
        "copy": "copy",
    }
    assert task_for_input("text", "adding") == "chars"  # text ignores the signal choice
    # every training task has inputs; "copy" is the one signal no model is trained for
    assert set(TASKS) == {"chars", *kinds.values()} - {"copy"}


def test_what_each_task_reads_comes_from_the_engine() -> None:
    # The Recurrent page asks these instead of writing its own task -> input tables.
    from explorer.data.sequences import input_kind_for_task, signals_for_task
    from explorer.training.sequence import SequenceSettings
    from explorer.training.sequence_tasks import (
        TASK_BASELINE,
        TASK_DEFAULTS,
        TASK_LENGTH_NAME,
        TASK_METRIC,
        TASK_TITLES,
        TASKS,
    )

    assert [input_kind_for_task(t) for t in TASKS] == ["text", "signal", "signal"]
    assert signals_for_task("sine") == ("sine", "square", "sawtooth", "noisy")
    assert signals_for_task("adding") == ("adding",)
    assert signals_for_task("chars") == ()
    for task in TASKS:
        assert all(task_for_input("signal", s) == task for s in signals_for_task(task))
    tables = (TASK_TITLES, TASK_METRIC, TASK_BASELINE, TASK_LENGTH_NAME, TASK_DEFAULTS)
    assert all(set(table) == set(TASKS) for table in tables)
    for task, d in TASK_DEFAULTS.items():  # every task's starting settings are valid ones
        SequenceSettings(
            task=task, steps=d.steps, seq_len=d.seq_len, lr=d.lr, hidden_size=d.hidden_size
        ).validate()
