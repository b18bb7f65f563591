"""Your own images on the Training page: a zip of class folders, or pictures added per class
(uploads or the camera), become a dataset; train on it from scratch or by transfer.

Files live in one temporary folder per browser (named by a hash of its anonymous id), under a
root that holds nothing else; a folder untouched for the job-keeping time
(EXPLORER_JOB_KEEP_S, default an hour) is deleted on the next visit of anyone, and "Delete my
images" deletes it at once. Every name shown comes from the user and is shown as text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import streamlit as st

from explorer.data.image_sets import (
    Limits,
    OwnImagesError,
    from_images,
    load_own,
    read_zip,
    stored_shape,
)
from explorer.models import get_spec
from explorer.training.freezing import FREEZE_MODES, FREEZE_TITLES
from explorer.training.settings import (
    OWN_SOURCE,
    TRAINABLE_MODELS,
    TrainSettings,
    is_own_source,
    start_source,
)
from explorer.training.spec_transfer import fits_input, no_fit_message
from explorer.training.transfer_weights import TransferError, bundled_source
from explorer.ui import browser_jobs
from explorer.ui import own_model_training as own
from explorer.ui.state import escape_text

ROOT_ENV = "EXPLORER_OWN_IMAGES_DIR"
MAX_CLASSES_BY_HAND = 5
# Camera pictures are kept in the session until the dataset is made: a class's cap (Limits.max_per_class).
CAMERA_SHOTS_PER_CLASS = Limits().max_per_class


def root() -> Path:
    """The folder that holds every browser's image folder (and nothing else)."""
    return Path(os.environ.get(ROOT_ENV) or Path(tempfile.gettempdir()) / "explorer-own-images")


def user_folder(owner: str) -> Path:
    return root() / hashlib.sha256(owner.encode()).hexdigest()[:24]


def expire(keep_s: float, now: float | None = None) -> list[Path]:
    """Delete user folders untouched for ``keep_s`` seconds; returns those deleted."""
    now = time.time() if now is None else now
    gone = []
    base = root()
    if not base.is_dir():
        return gone
    for folder in base.iterdir():
        if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > keep_s:
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


def _touch(folder: Path) -> None:
    if folder.is_dir():
        os.utime(folder)


def _summary(folder: Path) -> None:
    try:
        data = load_own(folder)
    except OwnImagesError as err:
        st.info(escape_text(str(err), limit=800))  # class and file names in it: text, not Markdown
        return
    st.session_state["own_sizes"] = (
        len(data.x_train),
        len(data.x_val),
        len(data.x_test),
        len(data.classes),
    )
    st.caption(
        f"{len(data.x_train)} training, {len(data.x_val)} validation and {len(data.x_test)} test images "
        f"({data.info.input_shape[1]} x {data.info.input_shape[2]}), split per class."
    )
    import torch

    counts = torch.bincount(
        torch.cat([data.y_train, data.y_val, data.y_test]), minlength=len(data.classes)
    ).tolist()
    st.dataframe({"class": list(data.classes), "images": counts}, hide_index=True)
    cols = st.columns(min(len(data.classes), 6))
    for k, cls in enumerate(data.classes[:6]):
        files = sorted((folder / f"{k:02d}").glob("*.png"))[:4]
        cols[k].text(cls)
        cols[k].image([str(f) for f in files], width=48)


def keep_shot(pics: list[bytes], shot: bytes, limit: int = CAMERA_SHOTS_PER_CLASS) -> str:
    """Add a camera picture to a class's list unless it is the one already last (every rerun
    shows the widget's last picture again) or the class is full: "added", "same" or "full"."""
    if pics and pics[-1] == shot:
        return "same"
    if len(pics) >= limit:
        return "full"
    pics.append(shot)
    return "added"


def _by_hand(folder: Path, active: bool) -> None:
    n = st.number_input("Classes", 2, MAX_CLASSES_BY_HAND, 2, key="own_n")
    added: dict[str, list[bytes]] = st.session_state.setdefault("own_hand", {})
    cols = st.columns(int(n))
    names = []
    for k, col in enumerate(cols):
        name = col.text_input(f"Class {k + 1}", f"class {k + 1}", max_chars=40, key=f"own_name_{k}")
        names.append(name)
        files = col.file_uploader(
            "Images",
            type=["png", "jpg", "jpeg", "webp", "bmp", "gif"],
            accept_multiple_files=True,
            key=f"own_files_{k}",
        )
        shot = (
            col.camera_input("Camera", key=f"own_cam_{k}", label_visibility="collapsed")
            if col.toggle("Camera", key=f"own_cam_on_{k}")
            else None
        )
        pics = added.setdefault(str(k), [])
        if shot is not None and keep_shot(pics, shot.getvalue()) == "full":
            col.caption(
                f"At most {CAMERA_SHOTS_PER_CLASS} camera pictures per class: this one was not kept."
            )
        col.caption(f"{len(files or []) + len(pics)} image(s)")
    if st.button("Make the dataset", key="own_make", disabled=active):
        per_class = {}
        for k, name in enumerate(names):
            files = st.session_state.get(f"own_files_{k}") or []
            per_class[name] = [f.getvalue() for f in files] + added.get(str(k), [])
        try:
            ds = from_images(per_class, folder)
        except OwnImagesError as err:
            st.error(
                escape_text(str(err), limit=800)
            )  # typed class names in it: text, not Markdown
        else:
            st.success(f"Made a dataset of {len(ds.classes)} classes.")


def own_images_section() -> None:
    """The "Your own images" panel."""
    expire(float(browser_jobs.server_settings()["keep_s"]))
    folder = user_folder(browser_jobs.owner_id())
    job = browser_jobs.current_job("training")
    active = job is not None and not job.done
    with st.expander("Your own images", expanded=False):
        st.caption(
            "Make a small dataset of your own: a zip with one folder per class (cats/, dogs/...), or "
            "pictures added per class. At least 5 images per class and 2 classes; images are reduced to "
            "32 x 32. They stay on the server for an hour after your last visit, then are deleted."
        )
        how = st.radio(
            "Add images",
            ["zip", "by hand"],
            horizontal=True,
            key="own_how",
            format_func={"zip": "a zip of class folders", "by hand": "per class"}.get,
        )
        if how == "zip":
            upload = st.file_uploader("Zip of class folders", type=["zip"], key="own_zip")
            if upload is not None:
                digest = hashlib.sha256(upload.getvalue()).hexdigest()
                if st.session_state.get("own_zip_done", (None,))[0] != digest:
                    try:
                        ds = read_zip(upload.getvalue(), folder, Limits())
                        outcome = (digest, None, ds.describe())
                    except OwnImagesError as err:
                        outcome = (digest, str(err), None)
                    except (
                        Exception
                    ):  # a failure read_zip does not know yet: one message, logged, no crash
                        logging.getLogger(__name__).exception(
                            "own images: an uploaded zip failed unexpectedly"
                        )
                        outcome = (
                            digest,
                            "This zip could not be read. Zip the class folders again.",
                            None,
                        )
                    st.session_state["own_zip_done"] = outcome
                _, error, described = st.session_state["own_zip_done"]
                if error:
                    st.error(
                        escape_text(error, limit=800)
                    )  # zip entry and class names: text, not Markdown
                else:
                    st.success("Dataset made. Classes and images:")
                    st.text(described)
        else:
            _by_hand(folder, active)
        if not (folder / "classes.json").is_file():
            return
        _touch(folder)
        _summary(folder)
        _train_controls(folder, active)
        if st.button("Delete my images", key="own_delete", disabled=active):
            shutil.rmtree(folder, ignore_errors=True)
            st.session_state.pop("own_zip_done", None)
            st.rerun()


def _train_controls(folder: Path, active: bool) -> None:
    """Where training starts, what trains, a few numbers, and the start button."""
    start_from, model, mode = _start_choice()
    d1, d2, d3 = st.columns(3)
    epochs = d1.number_input("Epochs", 1, 100, 10, key="own_epochs")
    lr = d2.number_input("Learning rate", 1e-5, 1.0, 3e-3, format="%.4f", key="own_lr")
    bs = d3.number_input("Batch size", 1, 256, 16, key="own_bs")
    if not st.button("Train on my images", type="primary", key="own_train", disabled=active):
        return
    n_train, n_val, _, _ = st.session_state.get("own_sizes", (16, 8, 0, 0))
    try:
        arch = own.own_arch(start_from) if is_own_source(start_from) else None
    except TransferError as err:
        st.error(escape_text(str(err), limit=400))
        return
    arch = arch or (model if start_from == "scratch" else start_from)
    settings = TrainSettings(
        model=arch,
        dataset="own_images",
        optimizer="adam",
        lr=float(lr),
        batch_size=int(min(bs, n_train)),
        epochs=int(epochs),
        train_samples=max(16, n_train),
        val_samples=max(8, n_val),
        source=start_source(start_from),
        freeze=mode if start_from != "scratch" else "all",
        augment=True,
    )
    problems = settings.errors()
    if problems:
        st.error("Cannot start: " + " ".join(problems))
        return
    _submit(folder, settings, start_from, mode)


def _start_choice() -> tuple[str, str, str]:
    """(where training starts: "scratch", a bundled model or an own: imported model; the model
    trained from scratch; the freeze mode)."""
    owns = own.own_sources()
    starts = ["scratch", "resnet_small", "lenet5", "vgg_small", "alexnet_small", *owns]
    c1, c2, c3 = st.columns(3)
    start_from = c1.selectbox(
        "Start from",
        starts,
        key="own_start",
        format_func=lambda k: (
            "random weights (from scratch)"
            if k == "scratch"
            else owns[k]
            if k in owns
            else f"{get_spec(k).title}: bundled weights"
        ),
    )
    model = c2.selectbox(
        "Model",
        [m for m in TRAINABLE_MODELS if m != "keras_cnn"],
        key="own_model",
        disabled=start_from != "scratch",
        format_func=lambda k: get_spec(k).title,
    )
    mode = c3.selectbox(
        "What trains",
        FREEZE_MODES,
        key="own_freeze",
        disabled=start_from == "scratch",
        format_func=FREEZE_TITLES.get,
    )
    return start_from, model, mode


def _submit(folder: Path, settings: TrainSettings, start_from: str, mode: str) -> None:
    """The job: the folder travels as a path, the source (bundled or imported) as plain data."""
    from explorer.device import pick_device

    try:
        if is_own_source(start_from):
            source = own.own_source(start_from)
            if not fits_input(stored_shape(), own.input_shape(start_from)):
                raise TransferError(no_fit_message(own.input_shape(start_from), stored_shape()[0]))
            title = f"{start_from.removeprefix(OWN_SOURCE)[:80]} on your images"
        else:
            source = None if start_from == "scratch" else bundled_source(start_from)
            title = f"{get_spec(settings.model).title} on your images"
        title += "" if source is None else f" (transfer, {mode.replace('_', ' ')})"
        browser_jobs.submit(
            browser_jobs.JobSpec(
                "explorer.training.transfer:run_own_images",
                {"settings": settings, "folder": str(folder), "source": source},
            ),
            device=str(pick_device("auto")),
            title=title,
            kind="training",
        )
    except (browser_jobs.JobBusyError, TransferError) as err:
        st.error(escape_text(str(err), limit=800))  # a model's name: text, not Markdown
        return
    st.rerun()
