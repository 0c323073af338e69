"""The workflow template gallery: common designs to start from, shipped as workflow files in
gallery/ (the export format, read by the same loader as an import)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from governance.auth.models import User
from governance.errors import NotFound
from governance.workflows import exchange, references, workflow_file

FOLDER = Path(__file__).parent / "gallery"
# The order of the cards: the most common first.
SLUGS = (
    "review-on-submit",
    "publish-notification",
    "annual-review",
    "exception-approval",
    "vendor-onboarding",
)


@dataclass(frozen=True)
class Template:
    slug: str
    document: workflow_file.Document

    @property
    def title(self) -> str:
        return self.document.name

    @property
    def groups(self) -> list[str]:
        """The group names its steps use: the admin picks one of theirs for each."""
        return references.references(self.document.definition)[1]


def get_template(slug: str) -> Template:
    if slug not in SLUGS:
        raise NotFound("No such template in the gallery.")
    raw = (FOLDER / f"{slug}.yaml").read_bytes()
    return Template(slug, workflow_file.read_document(raw))


def list_templates() -> list[Template]:
    return [get_template(slug) for slug in SLUGS]


def use_template(slug: str, *, actor: User, name: str, chosen_groups: dict[str, int | None]) -> int:
    """A draft workflow from the template, its groups those the admin chose; the new id.
    DefinitionError (nothing written) when something is left to choose or the name is taken."""
    template = get_template(slug)
    return exchange.import_document(
        template.document,
        actor=actor,
        name=name,
        chosen_groups=chosen_groups,
        origin=f"the gallery template “{template.title}”",
    )
