"""Leaderboard figures drawn server-side with matplotlib (Agg), as PNG or SVG.

Chinese labels need a CJK font: Debian's fonts-noto-cjk provides "Noto Sans CJK SC".
Without one, matplotlib draws missing glyphs as boxes and logs a warning.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager, ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from medexam.leaderboard import Column, Leaderboard, models_without_params  # noqa: E402

logger = logging.getLogger(__name__)

FIGURES = ("heatmap", "parameters", "levels")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
# PDF is written by the report command for LaTeX; the page offers PNG and SVG only.
PDF = "pdf"
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei"]

_font_configured = False


def _fontconfig_cjk_files() -> list[str]:
    """Return the files of the CJK fonts that fontconfig lists, or [] without fc-list.

    matplotlib lists system fonts once, in a cache under MPLCONFIGDIR, and does
    not see fonts installed after that: a machine that drew a figure before
    fonts-noto-cjk was installed would draw boxes until the cache is deleted.
    """
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listing = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in listing.splitlines() if line.strip()})


def _family_names() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


def _cjk_families() -> list[str]:
    installed = _family_names()
    return [name for name in CJK_FONTS if name in installed]


def _configure_fonts() -> None:
    global _font_configured
    if _font_configured:
        return
    available = _cjk_families()
    if not available:
        known = _family_names()
        for path in _fontconfig_cjk_files():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                logger.info("matplotlib could not read the font file %s", path)
        # A CJK font this list does not name is still better than boxes.
        available = _cjk_families() or sorted(_family_names() - known)
        if available:
            logger.info("added CJK fonts missing from matplotlib's font cache: %s", available)
    if not available:
        logger.warning("no CJK font found; install fonts-noto-cjk so Chinese labels render")
    matplotlib.rcParams["font.sans-serif"] = available + ["DejaVu Sans"]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["svg.fonttype"] = "none"
    # Model and specialty names are data: a "$" in one must not start TeX math.
    matplotlib.rcParams["text.parse_math"] = False
    _font_configured = True


def _label(column: Column, language: str) -> str:
    return column.name_zh if language.startswith("zh") else column.name_en


def heatmap_frame(board: Leaderboard) -> pd.DataFrame:
    """Accuracy (%) of each model (rows) in each specialty (columns)."""
    data = {
        column.code: [_percent(row.by_specialty.get(column.code)) for row in board.rows]
        for column in board.specialties
    }
    return pd.DataFrame(data, index=[row.name for row in board.rows])


def parameters_frame(board: Leaderboard) -> pd.DataFrame:
    """Parameter counts, architecture and overall accuracy (%) of the language models."""
    records = [
        {
            "model": row.name,
            "architecture": row.architecture,
            "total_params_b": row.total_params_b,
            "active_params_b": row.active_params_b,
            "accuracy": None if row.overall.accuracy is None else row.overall.accuracy * 100,
        }
        for row in board.rows
        if not row.is_baseline
    ]
    return pd.DataFrame.from_records(
        records,
        columns=["model", "architecture", "total_params_b", "active_params_b", "accuracy"],
    )


def levels_frame(board: Leaderboard) -> pd.DataFrame:
    """Accuracy (%) and Wilson interval of each model at each level, long format."""
    records = []
    for row in board.rows:
        for column in board.levels:
            cell = row.by_level.get(column.code)
            if cell is None or cell.accuracy is None or cell.low is None or cell.high is None:
                continue
            records.append(
                {
                    "model": row.name,
                    "level": column.code,
                    "accuracy": cell.accuracy * 100,
                    "ci_low": cell.low * 100,
                    "ci_high": cell.high * 100,
                    "n": cell.total,
                }
            )
    return pd.DataFrame.from_records(
        records, columns=["model", "level", "accuracy", "ci_low", "ci_high", "n"]
    )


def figure_frame(name: str, board: Leaderboard) -> pd.DataFrame:
    """Return the data a figure plots, for CSV download."""
    frames = {"heatmap": heatmap_frame, "parameters": parameters_frame, "levels": levels_frame}
    return frames[name](board)


def figure_csv(name: str, board: Leaderboard) -> str:
    """Return a figure's data as CSV text, the same for the page's download and the report.

    The heatmap names its rows by model in a first column headed "model".
    The other frames already have a model column, so they get no index column.
    """
    return figure_frame(name, board).to_csv(index=name == "heatmap", index_label="model")


def _percent(cell) -> float | None:
    return None if cell is None or cell.accuracy is None else round(cell.accuracy * 100, 1)


def draw_heatmap(board: Leaderboard, *, language: str = "zh-hans") -> Figure:
    """Model x specialty accuracy heatmap with each cell's percentage written in it."""
    _configure_fonts()
    frame = heatmap_frame(board)
    values = frame.to_numpy(dtype=float) if not frame.empty else np.zeros((0, 0))
    height = max(2.5, 0.45 * len(board.rows) + 1.6)
    width = max(5.0, 1.1 * len(board.specialties) + 3.0)
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()

    if values.size == 0:
        axes.axis("off")
        axes.text(0.5, 0.5, _text("No responses yet", "尚无模型回答", language), ha="center")
        return figure

    masked = np.ma.masked_invalid(values)
    image = axes.imshow(masked, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    axes.set_xticks(range(len(board.specialties)))
    axes.set_xticklabels(
        [_label(column, language) for column in board.specialties], rotation=30, ha="right"
    )
    axes.set_yticks(range(len(board.rows)))
    axes.set_yticklabels([row.name + (" *" if row.is_baseline else "") for row in board.rows])
    for (i, j), value in np.ndenumerate(values):
        if np.isnan(value):
            continue
        colour = "black" if value > 60 else "white"
        axes.text(j, i, f"{value:.1f}", ha="center", va="center", color=colour, fontsize=8)

    colourbar = figure.colorbar(image, ax=axes, shrink=0.9)
    colourbar.set_label(_text("Accuracy (%)", "准确率（%）", language))
    axes.set_title(_text("Accuracy by specialty", "各专科准确率", language))
    if any(row.is_baseline for row in board.rows):
        axes.set_xlabel(_text("* baseline, not a language model", "* 基线，非语言模型", language))
    return figure


def draw_parameters(board: Leaderboard, *, language: str = "zh-hans") -> Figure:
    """Accuracy against total and active parameters, log x axis, mixture-of-experts marked."""
    _configure_fonts()
    frame = parameters_frame(board)
    missing = models_without_params(board)
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    if not frame["total_params_b"].notna().any() and not frame["active_params_b"].notna().any():
        return _no_parameters_figure(figure, missing, language)
    panels = figure.subplots(1, 2, sharey=True)
    titles = {
        "total_params_b": _text("Total parameters", "总参数量", language),
        "active_params_b": _text("Active parameters", "激活参数量", language),
    }
    styles = {
        "dense": ("o", "tab:blue", _text("dense", "稠密", language)),
        "moe": ("^", "tab:orange", _text("mixture-of-experts", "混合专家", language)),
    }

    for axes, column in zip(panels, titles, strict=True):
        for architecture, (marker, colour, label) in styles.items():
            subset = frame[(frame["architecture"] == architecture) & frame[column].notna()]
            axes.scatter(
                subset[column], subset["accuracy"], marker=marker, color=colour, s=50, label=label
            )
            for _, point in subset.iterrows():
                axes.annotate(
                    point["model"],
                    (point[column], point["accuracy"]),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
        if frame[column].notna().any():
            _log_axis(axes, frame[column].dropna())
        axes.set_xlabel(
            titles[column] + _text(" (billions, log scale)", "（十亿，对数坐标）", language)
        )
        axes.grid(True, which="both", alpha=0.3)
    panels[0].set_ylabel(_text("Overall accuracy (%)", "总体准确率（%）", language))
    panels[0].legend(loc="lower right", fontsize=8)
    figure.suptitle(_text("Accuracy against model size", "准确率与模型规模", language))
    if missing:
        note = _text("Not shown, no parameter count: ", "未显示（缺少参数量）：", language)
        figure.supxlabel(note + ", ".join(missing), fontsize=8, color="dimgray")
    return figure


def _no_parameters_figure(figure: Figure, missing: list[str], language: str) -> Figure:
    """Explain an empty size figure: which models lack counts and where to add them."""
    axes = figure.add_subplot()
    axes.axis("off")
    if missing:
        lines = [
            _text(
                "No model has a parameter count, so accuracy cannot be plotted against size.",
                "没有模型填写参数量，无法绘制准确率与模型规模的关系。",
                language,
            ),
            _text("Models without counts: ", "缺少参数量的模型：", language) + ", ".join(missing),
            _text(
                "Add them in the admin (Models) or with add_model --total-params-b "
                "--active-params-b --params-source.",
                "请在管理后台（模型）中填写，或在 add_model 中使用 --total-params-b、"
                "--active-params-b 和 --params-source。",
                language,
            ),
        ]
    else:
        lines = [_text("No language models yet", "尚无语言模型", language)]
    axes.text(0.5, 0.5, "\n".join(lines), ha="center", va="center", wrap=True, fontsize=10)
    axes.set_title(_text("Accuracy against model size", "准确率与模型规模", language))
    return figure


def _log_axis(axes, values: pd.Series) -> None:
    """Log x axis with plain-number ticks (1, 2, 5, 10, ...) and room for point labels."""
    axes.set_xscale("log")
    low, high = float(values.min()), float(values.max())
    axes.set_xlim(low / 1.6, high * 2.2)
    ticks = [
        base * step
        for base in (0.1, 1, 10, 100, 1000, 10000)
        for step in (1, 2, 5)
        if low / 1.6 <= base * step <= high * 2.2
    ]
    axes.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())


def draw_levels(board: Leaderboard, *, language: str = "zh-hans") -> Figure:
    """Accuracy by level for each model, grouped bars with Wilson 95% error bars."""
    _configure_fonts()
    frame = levels_frame(board)
    names = [row.name for row in board.rows]
    labels = [row.name + (" *" if row.is_baseline else "") for row in board.rows]
    width = 0.8 / max(1, len(board.levels))
    figure = Figure(figsize=(max(5.0, 0.9 * len(names) + 2.5), 4.2), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(names))

    for index, column in enumerate(board.levels):
        subset = frame[frame["level"] == column.code].set_index("model").reindex(names)
        errors = np.vstack(
            [subset["accuracy"] - subset["ci_low"], subset["ci_high"] - subset["accuracy"]]
        )
        axes.bar(
            positions + (index - (len(board.levels) - 1) / 2) * width,
            subset["accuracy"],
            width,
            yerr=errors,
            capsize=3,
            label=_label(column, language),
        )
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=30, ha="right")
    axes.set_ylim(0, 115)
    axes.set_yticks(range(0, 101, 20))
    axes.set_ylabel(_text("Accuracy (%)", "准确率（%）", language))
    axes.set_title(
        _text(
            "Accuracy by level (95% Wilson interval)",
            "各职称级别准确率（95% Wilson 区间）",
            language,
        )
    )
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, loc="upper center", ncols=len(board.levels), frameon=False)
    axes.grid(True, axis="y", alpha=0.3)
    if any(row.is_baseline for row in board.rows):
        axes.set_xlabel(_text("* baseline, not a language model", "* 基线，非语言模型", language))
    return figure


def _text(english: str, chinese: str, language: str) -> str:
    return chinese if language.startswith("zh") else english


def draw(name: str, board: Leaderboard, *, language: str = "zh-hans") -> Figure:
    drawers = {"heatmap": draw_heatmap, "parameters": draw_parameters, "levels": draw_levels}
    if name not in drawers:
        raise ValueError(f"figure {name!r} not found; expected one of {', '.join(FIGURES)}")
    return drawers[name](board, language=language)


def render(figure: Figure, file_format: str) -> bytes:
    """Encode a figure as PNG (150 dpi), SVG or PDF."""
    if file_format not in FORMATS and file_format != PDF:
        raise ValueError(f"invalid format {file_format!r}; expected png, svg or pdf")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=150)
    return buffer.getvalue()
