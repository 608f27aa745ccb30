"""render.py: the Jinja environment (sandboxed, escaping, strict) and the renderer."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from handouts import api
from handouts.errors import RenderError
from handouts.render import MAX_HTML_BYTES, Renderer, render_html, template_env

from conftest import HANDOUT, pdf_text


@pytest.fixture
def env(tmp_path: Path):
    (tmp_path / "t.html.j2").write_text("{{ value }}")
    (tmp_path / "big.html").write_text("{{ 'a' * n }}")
    (tmp_path / "undefined.html").write_text("[{{ missing }}]")
    template_env.cache_clear()
    return template_env((tmp_path,))


def test_autoescape_is_on_whatever_the_file_name(env) -> None:
    assert env.get_template("t.html.j2").render(value="<b>") == "&lt;b&gt;"


def test_undefined_values_are_errors_not_blanks(env) -> None:
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("undefined.html").render()


def test_the_sandbox_refuses_huge_strings(env) -> None:
    assert env.get_template("big.html").render(n=3) == "aaa"
    with pytest.raises(jinja2.sandbox.SecurityError):
        env.get_template("big.html").render(n=MAX_HTML_BYTES + 1)


def test_template_output_is_capped(make_project) -> None:
    page = (
        '{% extends "base/page.html" %}{% block header %}'
        "{% for i in range(3000) %}{{ 'x' * 2000 }}{% endfor %}{% endblock %}"
    )
    (job,) = api.plan(api.open_project(make_project({"templates/leaflet/page.html": page})))
    with pytest.raises(RenderError, match="MB of HTML; the limit is 5 MB"):
        render_html(job, lambda p: p.as_uri(), [])


def test_one_renderer_renders_many_documents(make_project) -> None:
    other = HANDOUT.replace("id: sample", "id: other").replace("Sample Handout", "Other Handout")
    project = api.open_project(make_project({"content/handouts/other.yaml": other}))
    renderer = Renderer()
    titles = []
    for job in api.plan(project):
        rendered = renderer.render(job)
        assert rendered.pdf.startswith(b"%PDF-") and rendered.pages == 1
        assert rendered.body_pt == job.spec.body_pt
        titles.append(pdf_text(rendered.pdf).split("\n")[0:3])
    assert any("Other Handout" in " ".join(t) for t in titles)
    assert any("Sample Handout" in " ".join(t) for t in titles)
