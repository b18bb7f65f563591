"""The user's own images: a zip of 3 class folders trains; every hostile or malformed zip gets its
message; nothing is written outside the per-user folder (checked on disk)."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from explorer.data.image_sets import Limits, OwnImagesError, from_images, load_own, read_zip
from explorer.training.events import Finished, drain
from explorer.training.settings import TrainSettings
from explorer.training.transfer import run_own_images

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def png(colour: tuple[int, int, int], size: int = 24, seed: int = 0) -> bytes:
    im = Image.new("RGB", (size, size), colour)
    im.putpixel((seed % size, (seed * 7) % size), (255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def make_zip(entries: dict[str, bytes], links: tuple[str, ...] = (), top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(top + name, data)
        for name in links:
            info = zipfile.ZipInfo(top + name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def three_classes(n: int = 8) -> dict[str, bytes]:
    return {f"{c}/{i}.png": png(rgb, seed=i) for c, rgb in COLOURS.items() for i in range(n)}


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path: Path):
    """(root, per-user folder); asserts afterwards that nothing appeared outside the folder."""
    root = tmp_path / "server"
    root.mkdir()
    (root / "other-user").mkdir()
    before = tree(root)
    folder = root / "user-1"
    yield root, folder
    outside = {p for p in tree(root) - before if not p.startswith("user-1")}
    assert not outside, outside


def test_a_zip_of_three_class_folders_trains(sandbox):
    _, folder = sandbox
    ds = read_zip(make_zip(three_classes(), top="my_set/"), folder)
    assert ds.classes == ("blue", "green", "red") and ds.counts == {"blue": 8, "green": 8, "red": 8}
    data = load_own(folder)
    assert (
        data.x_train.shape[1:] == (3, 32, 32) and len(data.x_val) == len(data.x_test) == 3
    )  # 1 per class each
    assert sorted(data.y_val.tolist()) == [0, 1, 2]
    s = TrainSettings(
        model="lenet5",
        dataset="own_images",
        lr=3e-3,
        batch_size=6,
        epochs=3,
        train_samples=18,
        val_samples=8,
        device="cpu",
    )
    events, result = drain(run_own_images(s, str(folder), instrument=False))
    assert any(isinstance(e, Finished) for e in events)
    assert result.classes == ("blue", "green", "red") and result.build["num_classes"] == 3
    # Only names this module made are on disk.
    assert tree(folder) == {"classes.json", "00", "01", "02"} | {
        f"{k:02d}/{i:04d}.png" for k in range(3) for i in range(8)
    }


@pytest.mark.parametrize(
    ("entries", "links", "message"),
    [
        ({"../evil.png": b"x", **three_classes()}, (), "climbs out of its folder"),
        ({"/abs/evil.png": b"x", **three_classes()}, (), "absolute path"),
        (three_classes(), ("red/link.png",), "link"),
        ({"red/inner.zip": b"PK\x03\x04", **three_classes()}, (), "another archive"),
        (
            {"red/notes.txt": b"just some words, not an image", **three_classes()},
            (),
            "'red/notes.txt' is not an image",
        ),
        (
            {f"cats/{i}.png": png((1, 2, 3), seed=i) for i in range(6)},
            (),
            "Only one class ('cats')",
        ),
        (
            {**three_classes(), "blue/extra.png": png((0, 0, 200))} | {"few/1.png": png((9, 9, 9))},
            (),
            "Too few images in 'few' (1)",
        ),
        ({"loose.png": png((1, 1, 1)), **three_classes()}, (), "not inside a class folder"),
    ],
    ids=[
        "traversal",
        "absolute",
        "symlink",
        "nested-archive",
        "non-image",
        "one-class",
        "too-few",
        "no-folder",
    ],
)
def test_each_bad_zip_gets_its_message_and_writes_nothing(sandbox, entries, links, message):
    root, folder = sandbox
    with pytest.raises(OwnImagesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_zip(make_zip(entries, links), folder)
    assert not folder.exists()
    assert not (root / "evil.png").exists() and not Path("/abs/evil.png").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(sandbox):
    _, folder = sandbox
    bomb = {"red/big.png": b"\0" * (4 * 2**20), **three_classes()}
    with pytest.raises(OwnImagesError, match="zip bomb"):
        read_zip(make_zip(bomb), folder)
    with pytest.raises(OwnImagesError, match="unpacks to"):
        read_zip(make_zip(three_classes()), folder, Limits(max_total_bytes=1000))
    with pytest.raises(OwnImagesError, match="entries"):
        read_zip(make_zip(three_classes()), folder, Limits(max_entries=5))
    assert not folder.exists()


def test_not_a_zip_and_too_many_per_class(sandbox):
    _, folder = sandbox
    with pytest.raises(OwnImagesError, match="not a readable zip"):
        read_zip(b"hello", folder)
    with pytest.raises(OwnImagesError, match="Too many images in"):
        read_zip(make_zip(three_classes()), folder, Limits(max_per_class=4))


def test_images_added_per_class_make_the_same_kind_of_dataset(sandbox):
    _, folder = sandbox
    ds = from_images(
        {
            "on": [png((250, 250, 0), seed=i) for i in range(5)],
            "off": [png((5, 5, 5), seed=i) for i in range(5)],
        },
        folder,
    )
    assert ds.classes == ("off", "on")
    assert len(load_own(folder).x_train) == 6
    with pytest.raises(OwnImagesError, match="Only one class"):
        from_images({"on": [png((1, 1, 1))] * 5}, folder)


def test_expired_data_says_so(tmp_path):
    with pytest.raises(OwnImagesError, match="expired"):
        load_own(tmp_path / "gone")
    assert os.listdir(tmp_path) == []
