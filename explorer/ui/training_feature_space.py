"""The feature space on the Training page: after a run, the test images of its dataset placed by
the features of its penultimate layer (or a chosen layer), before training (the run's own random
initialisation: the same architecture drawn with the run's seed, as explorer.training.fit
draws it) and after, each with its linear-probe accuracy (what is compared:
explorer.training.feature_space_job.before_after). The widget is
explorer.ui.feature_space_panel; the layer and the projection are in the page's URL.
"""

from __future__ import annotations

import streamlit as st

from explorer.probe.capture import layer_infos
from explorer.probe.feature_vis import FeatureVisError
from explorer.training.feature_space_job import SpaceRequest, before_after
from explorer.ui import browser_jobs
from explorer.ui.feature_space_panel import feature_space_compare
from explorer.ui.state import PageState

N_IMAGES = 300  # test images projected: enough points to see clusters, few enough to keep


def _request(job: browser_jobs.Job) -> SpaceRequest | str:
    """The run's request, made once per run (it copies the trained weights)."""
    cached = st.session_state.get("tr_fs_request")
    if cached is None or cached[0] != job.id:
        try:
            cached = (job.id, before_after(job.id, job.result, N_IMAGES))
        except FeatureVisError as err:
            transfer = job.result.settings is not None and job.result.settings.source
            # the engine says what is wrong; where to look is the page's to say
            where = " The transfer panel below makes that comparison." if transfer else ""
            cached = (job.id, str(err) + where)
        st.session_state["tr_fs_request"] = cached
    return cached[1]


def feature_space_section(kind: str, page_url: PageState) -> None:
    """Below a finished run of ``kind``: the feature space before and after training."""
    job = browser_jobs.current_job(kind)
    if job is None or job.state is not browser_jobs.JobState.FINISHED or job.result is None:
        return
    st.subheader("What training did to the feature space")
    request = _request(job)
    if isinstance(request, str):
        st.info(request)
        return
    st.caption(
        f"{N_IMAGES} test images of the run's dataset, placed by the features that the classifier "
        "reads (or a layer you choose), before training and after: 'automatic feature extractor "
        "+ classifier' means that training moves the classes apart where the classifier reads them."
    )
    names = {i.name: f"{i.name} ({i.type})" for i in layer_infos(job.result.model)}
    feature_space_compare(
        "tr", request, page_url=page_url, auto=True, name_of=lambda n: names.get(n, n)
    )
