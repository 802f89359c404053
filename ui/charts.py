"""Plotly figures for the history page, built with `plotly.graph_objects` (a go.Figure costs
about a millisecond; plotly express ten times more per render). They draw the query frames as
they come: one trace per queue, no arithmetic on the numbers."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go

HEIGHT = 320
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=HEIGHT,
        margin=MARGIN,
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.2, "yanchor": "top"},
        hovermode="x unified",
    )
    return fig


def trend(
    frame: pd.DataFrame,
    column: str,
    title: str,
    unit: str,
    target: float | dict[str, float],
    span: tuple[datetime, datetime],
) -> go.Figure:
    """`column` of queue_intervals over bucket_start, a line per queue, the target dashed
    (one for all, or one per queue: a line per distinct value, naming its queues); the x axis
    spans the chosen days (local wall-clock `span`), so gaps show as gaps."""
    fig = go.Figure()
    for queue, rows in frame.groupby("queue", sort=True):
        fig.add_trace(
            go.Scatter(
                x=rows["bucket_start"], y=rows[column], name=str(queue), mode="lines+markers"
            )
        )
    lines: dict[float, list[str]] = {}
    if isinstance(target, dict):
        for queue, value in sorted(target.items()):
            lines.setdefault(value, []).append(queue)
    else:
        lines[target] = []
    for value, queues in lines.items():
        named = f" ({', '.join(queues)})" if len(lines) > 1 else ""
        fig.add_hline(
            y=value,
            line_dash="dash",
            line_color="#d62728",
            annotation_text=f"target {value:g} {unit}{named}",
            annotation_position="top left",
        )
    fig.update_xaxes(type="date", range=list(span))
    return _layout(fig, title, unit)


def wait_bars(frame: pd.DataFrame, column: str, title: str) -> go.Figure:
    """wait_distribution's `column` (answered or lost) per band, stacked by queue."""
    fig = go.Figure()
    for queue, rows in frame.groupby("queue", sort=True):
        fig.add_trace(go.Bar(x=rows["band"], y=rows[column], name=str(queue)))
    fig.update_layout(barmode="stack", xaxis_title="wait (s)")
    return _layout(fig, title, "calls")


def heatmap(frame: pd.DataFrame, column: str, title: str) -> go.Figure:
    """day_hour_matrix's `column` as weekday rows by hour columns (Monday on top)."""
    grid = frame.pivot(index="day", columns="hour", values=column)
    days = frame.drop_duplicates("day").sort_values("weekday")["day"].tolist()
    grid = grid.reindex(days)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype=float),
            x=[f"{h:02d}" for h in grid.columns],
            y=days,
            colorscale="Blues",
            hoverongaps=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(xaxis_title="hour")
    return _layout(fig, title, "")


def reasons(frame: pd.DataFrame) -> go.Figure:
    """unanswered_by_reason: calls per queue, stacked by exit reason."""
    fig = go.Figure()
    for reason, rows in frame.groupby("reason", sort=False):
        fig.add_trace(go.Bar(x=rows["queue"], y=rows["calls"], name=str(reason)))
    fig.update_layout(barmode="stack")
    return _layout(fig, "Unanswered calls by exit reason", "calls")
