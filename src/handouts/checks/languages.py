"""Languages: every language a brand asks for must have handouts to print and translated
template text; every handout should be printed by some brand."""

from __future__ import annotations

from ..i18n import SOURCE_LANGUAGE, catalog_path
from .registry import CheckContext, check
from .report import Finding


@check("project")
def languages(ctx: CheckContext) -> list[Finding]:
    """Brand languages with no handout or no template catalog; handouts no brand prints."""
    project = ctx.project
    findings: list[Finding] = []
    printed: set[tuple[str, str]] = set()
    # A file with errors is reported where it is; here it still counts as written.
    broken = {(b.name, b.language) for b in project.broken if b.kind == "handout"}
    for b in project.brands:
        wanted = project.wanted_by(b)
        for i, lang in enumerate(b.brand.languages):
            versions = [
                hid
                for hid in wanted
                if lang in project.handout_versions(hid) or (hid, lang) in broken
            ]
            printed.update((hid, lang) for hid in versions)
            if not versions:
                problem = b.problem(
                    ("languages", i),
                    f"none of this brand's handouts is written in '{lang}'",
                    f"add a translation such as content/handouts/{wanted[0] if wanted else 'ID'}"
                    f".{lang}.yaml, or remove '{lang}' from languages",
                )
                findings.append(Finding("warning", "languages.no-handout", problem, brands=(b.id,)))
            if lang.split("-")[0] != SOURCE_LANGUAGE and not catalog_path(
                project.template_dirs, lang
            ):
                problem = b.problem(
                    ("languages", i),
                    f"there is no translation of the template text for '{lang}' "
                    f"(templates/locale/{lang}/LC_MESSAGES/handouts.po)",
                    "add the catalog (see docs/adding-a-language.md), or remove the language",
                )
                findings.append(
                    Finding("error", "languages.no-catalog", problem, language=lang, brands=(b.id,))
                )
    for h in project.handouts:
        if (h.id, h.language) not in printed:
            problem = h.problem(
                ("language",),
                f"no brand prints this handout in '{h.language}'",
                f"add '{h.language}' to a brand's languages (and the handout to its handouts)",
            )
            findings.append(
                Finding(
                    "warning", "languages.unprinted", problem, handout=h.id, language=h.language
                )
            )
    return findings
