"""charter.render: one chart routine (one lock, one style), the report stylesheet, HTML to PDF."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest

from charter.render import charts, pages, pdf
from charter.render import model_card


def _bar(fig):
    ax = fig.add_subplot()
    ax.bar([0, 1], [1.0, 2.0])
    ax.set_title("cost <$5> & more")


def test_inline_svg_has_no_prolog_a_class_a_label_and_text_as_text():
    svg = charts.svg(_bar, size=(3, 2), label='cost <$5> & "more"')
    assert svg.startswith('<svg class="chart-svg" role="img" aria-label="cost &lt;$5> &amp; &quot;more&quot;" ')
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert "<text" in svg and "cost &lt;$5&gt; &amp; more" in svg  # not mathtext, not glyph paths


def test_two_charts_on_one_page_share_no_element_id():
    first, second = (charts.svg(_bar, size=(3, 2), label="c") for _ in range(2))
    ids = [set(re.findall(r'\sid="([^"]+)"', svg)) for svg in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    for svg, own in zip((first, second), ids):  # every reference points inside its own chart
        for ref in re.findall(r'(?:url\(|href=")#([^)"]+)', svg):
            assert ref in own


def test_every_chart_is_drawn_and_saved_under_the_one_lock_with_the_house_style():
    seen = {}

    def draw(fig):
        import matplotlib

        seen["locked"] = charts.LOCK.locked()
        seen["font"] = matplotlib.rcParams["font.size"]
        seen["salt"] = matplotlib.rcParams["svg.hashsalt"]
        _bar(fig)

    charts.svg(draw, size=(3, 2), label="c", rc={"font.size": 7})
    assert seen == {"locked": True, "font": 7, "salt": charts.STYLE["svg.hashsalt"]}
    assert not charts.LOCK.locked()
    charts.image(draw, size=(3, 2), fmt="png", house_style=False)
    assert seen["locked"] is True and seen["salt"] != charts.STYLE["svg.hashsalt"]


def test_charts_drawn_from_many_threads_do_not_mix_styles():
    sizes, errors = [], []

    def worker(size):
        def draw(fig):
            import matplotlib

            sizes.append((size, matplotlib.rcParams["font.size"]))
            _bar(fig)

        try:
            charts.svg(draw, size=(2, 2), label="t", rc={"font.size": size})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in (6, 7, 9, 11) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(asked == used for asked, used in sizes) and len(sizes) == 12


def test_images_are_standalone_files_of_the_asked_format():
    assert charts.image(_bar, size=(3, 2), fmt="png").startswith(b"\x89PNG")
    assert charts.image(_bar, size=(3, 2), fmt="svg").lstrip().startswith(b"<?xml")
    assert charts.image(_bar, size=(3, 2), fmt="pdf").startswith(b"%PDF-")
    assert charts.image(_bar, size=(3, 2), fmt="png") == charts.image(_bar, size=(3, 2), fmt="png")  # no dates
    with pytest.raises(ValueError, match="fmt must be one of .*png.*, got 'docx'"):
        charts.image(_bar, size=(3, 2), fmt="docx")
    assert charts.image_format(Path("a/chart.SVG")) == "svg"
    assert charts.image_format(Path("chart")) == "png"


def test_metric_charts_refuse_values_they_cannot_draw():
    with pytest.raises(ValueError):
        charts.metric_svg({"type": "bar_chart", "value": []})
    with pytest.raises(ValueError):
        charts.metric_svg({"type": "linear_graph", "value": [[1, 2, 3]]})
    assert charts.metric_svg({"type": "matrix", "name": "m", "value": [[1, 2], [3, 4]]}).startswith("<svg ")


def test_the_model_card_and_the_clarify_report_start_from_the_one_stylesheet():
    css = str(pages.stylesheet())
    assert "size: A4" in css and "svg.chart-svg" in css
    html = model_card.render_html({"ModelCardName": "c", "Content": "{}"})
    assert css in html
    clarify = Path(__file__).parents[2] / "src/charter/builtins/clarify/templates/report.html"
    assert "{{ stylesheet }}" in clarify.read_text()


def test_html_becomes_an_a4_pdf_with_the_stylesheet_page_numbers():
    pypdf = pytest.importorskip("pypdf")
    html = f"<html><head><style>{pages.stylesheet()}</style></head><body><p>hello</p></body></html>"
    document = pypdf.PdfReader(io.BytesIO(pdf.html_to_pdf(html, Path("."))))
    page = document.pages[0]
    assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
    assert "hello" in page.extract_text() and "Page 1 of 1" in page.extract_text()
