"""The docs' Dockerfile lint (tests/images/test_docs_dockerfiles.py), collected here too so that `scripts/test
--quick` (tests/unit, integration, local, the README and docs tests) runs it.

The lint reads Markdown only (no Docker, a few milliseconds), but tests/images is a guarded folder
(tests/support/machine_lock.py): a test collected there takes the machine-wide lock first, and would wait, up to
90 minutes, for another run's app and image tests. Collected from tests/unit it takes no lock. The image builds of
that module (test_readme_dockerfile) stay in the full run.
"""

from __future__ import annotations

from tests.images.test_docs_dockerfiles import (
    test_every_dockerfile_in_the_docs_is_built_or_marked_alternative,
    test_the_lint_catches_what_it_should,
)

__all__ = ["test_every_dockerfile_in_the_docs_is_built_or_marked_alternative", "test_the_lint_catches_what_it_should"]
