"""Training: train a compact CNN live and watch it learn; keep the result.

The run happens in a background job (explorer.ui.browser_jobs); this page only starts it, polls it
about once a second with a fragment, and draws what the events say (explorer.viz.training).
It reads as a table of contents: its sections live in explorer/ui/training_sections.py.
"""

from __future__ import annotations

from explorer.ui import browser_jobs
from explorer.ui import training_sections as sections
from explorer.ui.common import projector_on
from explorer.ui.image_set_panel import own_images_section
from explorer.ui.runs_panel import runs_section
from explorer.ui.state import PageState
from explorer.ui.training_checkpoint import checkpoint_section
from explorer.ui.training_feature_space import feature_space_section
from explorer.ui.transfer_panel import transfer_section

KIND = sections.KIND
projector = (
    projector_on()
)  # projector mode: the settings fold into one line, Start and the curves come first
sections.page_header(projector)

page_url = PageState("training")
sections.bind_settings(page_url)  # from the link or this session, before the widgets
browser_jobs.unavailable_notice()  # e.g. EXPLORER_RAY_ADDRESS does not answer: say why, the page still renders
job = browser_jobs.current_job(KIND)
active = job is not None and not job.done

if sections.settings_form(page_url, projector, active):  # Start pressed
    sections.start_run()
sections.live_section(job, active)  # polled by a fragment while the run lasts
feature_space_section(KIND, page_url)  # after a run: its features before and after training
checkpoint_section()

# Transfer learning and your own images (runs like the others, shown by the live view above), and
# every run of this browser overlaid on one chart: widgets in explorer/ui/transfer_panel.py,
# own_images.py and runs_panel.py.
transfer_section()
own_images_section()
runs_section()
if browser_jobs.current_job(KIND) is not None:  # what a link cannot carry, said in its popover
    page_url.not_in_link(
        "your training run and its model (the link opens these settings, ready to start)"
    )
page_url.done()
