"""Keep Streamlit's garbage collection after every script run cheap.

Streamlit runs ``gc.collect(2)`` after each script run (``runner.postScriptGC``), so that the
garbage of one run does not pile up. A full collection walks every object the process tracks,
and torch, torchvision, plotly and the cached models are hundreds of thousands of them: on this
app it cost about 0.16 s of CPU per page view, more than the page itself. Those objects live as
long as the process, so once they are loaded they are moved to the permanent generation
(``gc.freeze()``) and later collections walk only what runs create. Each run's garbage is still
collected. What is alive at a freeze is frozen with the modules (cached models, the results on
screen then): a frozen object that dies is still freed by reference counting, but a reference
cycle among frozen objects is never collected. That is bounded: a freeze happens only when a
page has loaded many new modules (torch on the first model page, captum...), a few times per
process.
"""

from __future__ import annotations

import gc
import sys

from explorer.ui import process_state

# Freeze again once this many more modules are loaded (a page that imports a new library).
NEW_MODULES = 50


def freeze_loaded() -> bool:
    """Move what is loaded so far to the permanent generation, when enough new modules came
    since the last time; True when it froze. Cheap when there is nothing new (one comparison)."""
    if len(sys.modules) - process_state.gc_frozen_at < NEW_MODULES:
        return False
    with process_state.gc_freeze_lock:
        if len(sys.modules) - process_state.gc_frozen_at < NEW_MODULES:
            return False
        gc.collect()  # what is garbage now is not frozen
        gc.freeze()
        process_state.gc_frozen_at = len(sys.modules)
    return True
