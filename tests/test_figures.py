"""Figure drawing: every figure renders, also for boards with missing parts."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import pytest
from matplotlib import font_manager

from medexam import figures
from medexam.figures import FIGURES, draw, figure_frame, render
from medexam.leaderboard import leaderboard_compute
from tests.run_rows import make_demo_board, make_model, make_question, make_response, make_run


@pytest.mark.django_db
@pytest.mark.parametrize("name", FIGURES)
def test_figure_empty_board(name):
    board = leaderboard_compute()
    assert render(draw(name, board), "png").startswith(b"\x89PNG")


@pytest.mark.django_db
@pytest.mark.parametrize("name", FIGURES)
def test_figure_baseline_only(name):
    run = make_run(make_model("always A", architecture="baseline"))
    make_response(run, make_question(1), "A")
    board = leaderboard_compute()
    assert b"<svg" in render(draw(name, board, language="en"), "svg")


@pytest.mark.django_db
def test_figure_chinese_labels():
    make_demo_board(per_cell=1)
    svg = render(draw("heatmap", leaderboard_compute(), language="zh-hans"), "svg").decode()
    assert "心血管内科" in svg


def _system_has_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    listing = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listing.stdout.strip())


@pytest.mark.django_db
@pytest.mark.skipif(not _system_has_cjk_font(), reason="no CJK font installed (fonts-noto-cjk)")
def test_chinese_glyphs_drawn_after_stale_font_cache(monkeypatch):
    # matplotlib's font cache was built before fonts-noto-cjk was installed:
    # its list of fonts has no CJK family, though fontconfig has one.
    stale = [entry for entry in font_manager.fontManager.ttflist if "CJK" not in entry.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    font_manager.fontManager._findfont_cached.cache_clear()
    monkeypatch.setattr(figures, "_font_configured", False)
    make_demo_board(per_cell=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render(draw("heatmap", leaderboard_compute(), language="zh-hans"), "png")
    missing = [
        str(warning.message) for warning in caught if "missing from font" in str(warning.message)
    ]
    assert png.startswith(b"\x89PNG")
    assert missing == []


@pytest.mark.django_db
def test_figure_frame_rows():
    make_demo_board(per_cell=1)
    frame = figure_frame("parameters", leaderboard_compute())
    assert len(frame) == 4


def test_render_rejects_format():
    with pytest.raises(ValueError, match="expected png, svg or pdf"):
        render(None, "gif")  # type: ignore[arg-type]


@pytest.mark.django_db
def test_parameters_figure_names_missing_counts():
    run = make_run(make_model("no-size-model"))
    make_response(run, make_question(1), "A")
    svg = render(draw("parameters", leaderboard_compute(), language="en"), "svg").decode()
    assert "No model has a parameter count" in svg
    assert "no-size-model" in svg
    assert "--total-params-b" in svg


@pytest.mark.django_db
def test_parameters_figure_chinese_message():
    run = make_run(make_model("no-size-model"))
    make_response(run, make_question(1), "A")
    svg = render(draw("parameters", leaderboard_compute(), language="zh-hans"), "svg").decode()
    assert "缺少参数量的模型" in svg
    assert "管理后台" in svg


@pytest.mark.django_db
def test_parameters_figure_notes_partial_counts():
    make_demo_board(per_cell=1)
    run = make_run(make_model("unsized"))
    make_response(run, make_question(1), "A")
    svg = render(draw("parameters", leaderboard_compute(scope="all"), language="en"), "svg")
    text = svg.decode()
    assert "Not shown, no parameter count: unsized" in text
    assert "DeepSeek-V3" in text


@pytest.mark.django_db
@pytest.mark.parametrize("name", FIGURES)
def test_dollar_in_model_name_is_text(name):
    # Paired "$" would start TeX math; "\notacommand" inside it raised on render.
    model_name = r"cost$\notacommand$model"
    run = make_run(make_model(model_name, total=7.0, active=7.0))
    make_response(run, make_question(1), "A")
    figure = draw(name, leaderboard_compute(), language="en")
    svg = render(figure, "svg").decode()
    assert "<svg" in svg
    texts = [text.get_text() for text in figure.findobj(lambda artist: hasattr(artist, "get_text"))]
    assert any(model_name in text for text in texts)
