"""The JobHandle protocol is exactly what backends use of a job, and the Job class provides it.

Backends type against :class:`~explorer.training.backends.base.JobHandle`, not the job class, so
``job -> backends.base`` is one-way. These checks keep the protocol honest both ways: a backend
that starts using a new member of the job fails the first test until the protocol names it, and
a member the protocol names but no backend uses fails it too.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from explorer.training.backends import base
from explorer.training.backends.base import JobHandle, JobSpec
from explorer.training.job import Job

BACKENDS = Path(base.__file__).parent


def _protocol_members() -> set[str]:
    own = set(JobHandle.__annotations__)
    own |= {
        n for n, v in vars(JobHandle).items() if inspect.isfunction(v) and not n.startswith("_")
    }
    return own


def _members_backends_use() -> set[str]:
    """Attributes read or written on a parameter called ``job`` in any backend module."""
    used: set[str] = set()
    for path in BACKENDS.glob("*.py"):
        if path.name in {"base.py", "demo.py", "__init__.py"}:
            continue  # base defines the protocol; demo drives a JobManager's jobs, not a backend
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "job"
            ):
                used.add(node.attr)
    return used


def test_the_protocol_names_exactly_what_backends_use() -> None:
    assert _members_backends_use() == _protocol_members()


def test_a_job_provides_every_member_of_the_handle() -> None:
    job = Job(7, "owner", "cuda", JobSpec("explorer.training.backends.demo:ticks"), "t", 10)
    for name in _protocol_members():
        assert hasattr(job, name), name
    assert (job.id, job.device, job.note) == (7, "cuda:0", None)
    assert job.spec == JobSpec("explorer.training.backends.demo:ticks")
