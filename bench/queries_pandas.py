"""The page KPIs in pandas, on the same rows loaded into DataFrames once (`load`).

Each function returns the frame the named query returns, with the bench's fixed parameters
(sl_s 20, short abandons under 5 s, exclude_short false, every queue). The frames are sorted
by time and low-cardinality text is categorical, as a careful analyst would load a year of
calls: a range is a binary search, not a scan. bench/queries.py checks every result against the
named query's before timing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from bench.queries_flat import DUMPED

CATEGORIES = ("pbx", "queue", "outcome", "agent", "interface", "ended_by", "source")
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-10", 0, 10), ("10-20", 10, 20), ("20-30", 20, 30), ("30-45", 30, 45),
    ("45-60", 45, 60), ("60-90", 60, 90), ("90-120", 90, 120), ("120+", 120, None),
)  # fmt: skip
REASONS = ("abandoned", "short_abandon", "timeout", "exitempty", "exitwithkey", "unknown")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CALL_COLUMNS = ["pbx", "queue", "call_id", "entered_at", "outcome", "wait_s", "agent", "talk_s",
                "ended_by", "source", "caller_num", "caller_name", "position", "answered_at",
                "ended_at", "ring_attempts", "gap"]  # fmt: skip


# pandas folds presence from this many changelog rows at most: a year of 10M calls (42M rows)
# needs well over 10 GB of intermediate frames, more than this machine has beside DuckDB.
MAX_MEMBER_ROWS = 10_000_000


class TooBig(Exception):
    """The pandas version would not fit in memory; the bench reports it as not run."""


@dataclass
class Frames:
    """The store's rows as pandas holds them for the KPIs."""

    calls: pd.DataFrame  # queue_calls + caller, by entered_at
    rings: pd.DataFrame  # agent, started_at, result, by started_at
    members: pd.DataFrame  # member_states' presence columns + seq, by seq
    sl: dict[str, float]  # each queue's service-level threshold (queue_thresholds)
    reach_s: float = 0.0  # how long after entering a stay can still talk (agent_summary)


def categories(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> str:
    """A SELECT list of `table`'s columns with `columns` as ENUMs, which DuckDB hands to pandas
    as categoricals: 40M member rows as Python strings would not fit in memory."""
    picks = []
    for col in columns:
        # Sorted, so that a categorical sorts as the strings do (the queries ORDER BY them).
        values = f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL ORDER BY 1"  # noqa: S608 (fixed names)
        con.execute(f"CREATE OR REPLACE TYPE bench_{table}_{col} AS ENUM ({values})")
        picks.append(f"CAST({col} AS bench_{table}_{col}) AS {col}")
    return ", ".join(picks)


def load(con: duckdb.DuckDBPyConnection) -> Frames:
    """Read the tables the KPIs use into DataFrames."""
    cats = categories(con, "queue_calls", CATEGORIES)
    # `dumped` (a member hung up in the announcement) comes pre-joined, as in the flat table.
    calls = con.execute(
        f"SELECT * REPLACE ({cats}), coalesce(linkedid, call_id) AS caller, "  # noqa: S608 (fixed names)
        f"{DUMPED} AS dumped FROM queue_calls AS c ORDER BY entered_at"
    ).df()
    cats = categories(con, "ring_attempts", ("agent", "result"))
    rings = con.execute(
        f"SELECT {cats}, started_at FROM ring_attempts ORDER BY started_at"  # noqa: S608 (fixed names)
    ).df()[["agent", "started_at", "result"]]
    # A table scan returns rows in insertion (rowid) order: no sort needed.
    cats = categories(con, "member_states", ("pbx", "queue", "interface", "member_name"))
    con.execute(
        "CREATE OR REPLACE TYPE bench_reason AS ENUM "
        "(SELECT DISTINCT coalesce(paused_reason, '') FROM member_states)"
    )
    members = con.execute(
        f"SELECT rowid AS seq, {cats}, since, present, paused, "  # noqa: S608 (fixed names)
        "CAST(coalesce(paused_reason, '') AS bench_reason) AS reason FROM member_states"
    ).df()
    if not members["seq"].is_monotonic_increasing:
        members = members.sort_values("seq", kind="stable").reset_index(drop=True)
    sl = dict(
        con.execute(
            "SELECT queue, sl_threshold_s FROM queue_thresholds WHERE pbx IS NOT NULL"
        ).fetchall()
    )
    a = calls[calls["outcome"] == "answered"]
    reach = (a["answered_at"] - a["entered_at"]).dt.total_seconds() + a["talk_s"]
    return Frames(calls, rings, members, sl, float(reach.max()) + 1 if len(a) else 0.0)


def _sl(f: Frames, s: pd.DataFrame) -> pd.Series:
    """Each stay's queue's service-level threshold."""
    return s["queue"].astype(str).map(f.sl).astype(float)


def _between(frame: pd.DataFrame, col: str, t0: datetime, t1: datetime) -> pd.DataFrame:
    times = frame[col]
    i0, i1 = times.searchsorted(pd.Timestamp(t0)), times.searchsorted(pd.Timestamp(t1))
    return frame.iloc[i0:i1]


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    return (100.0 * num / den.where(den > 0)).astype(float)


def queue_summary(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """queue_summary.sql in pandas."""
    s = _between(f.calls, "entered_at", t0, t1)
    a = s["outcome"] == "answered"
    w = s["wait_s"]
    epoch = s["entered_at"].astype("int64") / 1e6
    sl = _sl(f, s)
    whole = (np.floor(epoch + w) - np.floor(epoch)) <= sl
    ast_ab = s["outcome"].isin(["abandoned", "timeout", "exitempty"])
    flags = pd.DataFrame({
        "queue": s["queue"], "offered": 1, "answered": a,
        "abandoned": s["outcome"] == "abandoned", "timeout": s["outcome"] == "timeout",
        "exitempty": s["outcome"] == "exitempty", "exitwithkey": s["outcome"] == "exitwithkey",
        "unknown": s["outcome"] == "unknown",
        "short_abandons": (s["outcome"] == "abandoned") & (w < 5),
        "transferred": a & (s["ended_by"] == "transfer"), "answered_within_sl": a & (w <= sl),
        "perf": a & whole, "perf2_num": (a | ast_ab) & whole, "perf2_den": a | ast_ab,
        "agent_dumps": s["dumped"],
    })  # fmt: skip
    n = flags.groupby("queue", observed=True).sum()
    ans, lost = s[a].groupby("queue", observed=True), s[~a].groupby("queue", observed=True)
    aband = s[s["outcome"] == "abandoned"].groupby("queue", observed=True)
    # Percentiles over whole-second waits (queue_summary's definition).
    whole_s = np.ceil(s["wait_s"])
    ans_whole = whole_s[a].groupby(s["queue"][a], observed=True)
    lost_whole = whole_s[~a].groupby(s["queue"][~a], observed=True)
    talk = ans["talk_s"]
    out = pd.DataFrame({
        "offered": n["offered"], "answered": n["answered"], "abandoned": n["abandoned"],
        "timeout": n["timeout"],
        "sl_answered_pct": _pct(n["answered_within_sl"], n["answered"]),
        "sl_inclusive_pct": _pct(n["answered_within_sl"], n["offered"]),
        "asa_s": ans["wait_s"].mean(), "abandon_rate_pct": _pct(n["abandoned"], n["offered"]),
        "exitempty": n["exitempty"], "exitwithkey": n["exitwithkey"], "unknown": n["unknown"],
        "short_abandons": n["short_abandons"], "transferred": n["transferred"],
        "answered_within_sl": n["answered_within_sl"],
        "sl_asterisk_perf_pct": _pct(n["perf"], n["answered"]),
        "sl_asterisk_perf2_pct": _pct(n["perf2_num"], n["perf2_den"]),
        "wait_answered_p50_s": ans_whole.quantile(0.5),
        "wait_answered_p90_s": ans_whole.quantile(0.9),
        "wait_answered_max_s": ans["wait_s"].max(), "wait_lost_avg_s": lost["wait_s"].mean(),
        "wait_lost_p50_s": lost_whole.quantile(0.5),
        "wait_lost_p90_s": lost_whole.quantile(0.9),
        "wait_lost_max_s": lost["wait_s"].max(),
        "abandon_wait_avg_s": aband["wait_s"].mean(),
        "abandon_position_avg": aband["left_position"].mean(),
        "talk_total_s": talk.sum(), "talk_avg_s": talk.mean(), "aht_s": talk.mean(),
        "sl_threshold_s": sl.groupby(s["queue"], observed=True).first(),
        "abandon_entry_position_avg": aband["position"].mean(),
        "agent_dumps": n["agent_dumps"],
    })  # fmt: skip
    return out.sort_index().rename_axis("queue").reset_index()


def totals(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """totals.sql in pandas: one caller per pbx and linkedid (else call_id)."""
    s = _between(f.calls, "entered_at", t0, t1)
    keys = [s["pbx"], s["caller"]]
    a = s["outcome"] == "answered"
    first = s["entered_at"].where(a).groupby(keys, observed=True).transform("min")
    counted = s["wait_s"].where(first.isna() | (s["entered_at"] <= first))
    last = s.sort_values(["entered_at", "ended_at"], kind="stable")
    # A caller is judged by the threshold of the queue it entered first.
    first_sl = _sl(f, last).groupby([last["pbx"], last["caller"]], observed=True).first()
    c = pd.DataFrame({
        "stays": s.groupby(keys, observed=True).size(),
        "answered": a.groupby(keys, observed=True).any(),
        "last": last.groupby(["pbx", "caller"], observed=True)["outcome"].last(),
        "wait": counted.groupby(keys, observed=True).sum(min_count=1),
        "sl": first_sl,
    })  # fmt: skip
    ans = c["answered"]
    lost = {o: int(((~ans) & (c["last"] == o)).sum()) for o in REASONS if o != "short_abandon"}
    within = int((ans & (c["wait"] <= c["sl"])).sum())
    talk = s["talk_s"][a]
    short = int(((~ans) & (c["last"] == "abandoned") & (c["wait"] < 5)).sum())
    offered, answered = len(c), int(ans.sum())
    row = {
        "offered": offered, "answered": answered, "abandoned": lost["abandoned"],
        "timeout": lost["timeout"],
        "sl_answered_pct": 100.0 * within / answered if answered else np.nan,
        "sl_inclusive_pct": 100.0 * within / offered if offered else np.nan,
        "asa_s": c["wait"][ans].mean(),
        "abandon_rate_pct": 100.0 * lost["abandoned"] / offered if offered else np.nan,
        "exitempty": lost["exitempty"], "exitwithkey": lost["exitwithkey"],
        "unknown": lost["unknown"], "short_abandons": short, "answered_within_sl": within,
        "stays": int(c["stays"].sum()), "multi_stay_callers": int((c["stays"] > 1).sum()),
        "talk_total_s": talk.sum() if len(talk) else np.nan, "aht_s": talk.mean(),
    }  # fmt: skip
    return pd.DataFrame([row])


def queue_intervals(
    f: Frames, t0: datetime, t1: datetime, tz: str, width: timedelta
) -> pd.DataFrame:
    """queue_intervals.sql in pandas (widths up to a day: floor on local wall-clock time)."""
    s = _between(f.calls, "entered_at", t0, t1)
    local = s["entered_at"].dt.tz_convert(tz).dt.tz_localize(None)
    a, w = s["outcome"] == "answered", s["wait_s"]
    flags = pd.DataFrame({
        "queue": s["queue"], "bucket_start": local.dt.floor(pd.Timedelta(width)), "offered": 1,
        "answered": a, "abandoned": s["outcome"] == "abandoned",
        "timeout": s["outcome"] == "timeout",
        "short_abandons": (s["outcome"] == "abandoned") & (w < 5),
        "answered_within_sl": a & (w <= _sl(f, s)),
        "wait_a": w.where(a), "talk_a": s["talk_s"].where(a),
    })  # fmt: skip
    g = flags.groupby(["queue", "bucket_start"], observed=True)
    n = g[["offered", "answered", "abandoned", "timeout", "short_abandons",
           "answered_within_sl"]].sum()  # fmt: skip
    out = pd.DataFrame({
        "offered": n["offered"], "answered": n["answered"], "abandoned": n["abandoned"],
        "timeout": n["timeout"],
        "sl_answered_pct": _pct(n["answered_within_sl"], n["answered"]),
        "sl_inclusive_pct": _pct(n["answered_within_sl"], n["offered"]),
        "asa_s": g["wait_a"].mean(), "abandon_rate_pct": _pct(n["abandoned"], n["offered"]),
        "short_abandons": n["short_abandons"], "answered_within_sl": n["answered_within_sl"],
        "talk_avg_s": g["talk_a"].mean(),
    })  # fmt: skip
    return out.sort_index().reset_index()


def wait_distribution(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """wait_distribution.sql in pandas."""
    s = _between(f.calls, "entered_at", t0, t1)
    a = s["outcome"] == "answered"
    edges = [-np.inf, 10, 20, 30, 45, 60, 90, 120, np.inf]
    band = pd.cut(s["wait_s"], edges, right=True, labels=[b[1] for b in BANDS])
    answered_all = a.groupby(s["queue"], observed=True).sum()
    counts = pd.DataFrame({"q": s["queue"], "band": band, "ans": a, "lost": ~a}).dropna()
    grid = pd.MultiIndex.from_product([answered_all.index, [b[1] for b in BANDS]])
    n = counts.groupby(["q", "band"], observed=True)[["ans", "lost"]].sum()
    n = n.reindex(grid, fill_value=0)
    within = n["ans"].groupby(level=0).cumsum()
    queues = n.index.get_level_values(0)
    out = pd.DataFrame({
        "queue": queues, "band": [b[0] for _ in answered_all.index for b in BANDS],
        "from_s": n.index.get_level_values(1),
        "to_s": [b[2] for _ in answered_all.index for b in BANDS],
        "answered": n["ans"].to_numpy(), "lost": n["lost"].to_numpy(),
        "answered_within": within.to_numpy(),
        "answered_within_pct": _pct(within, answered_all.reindex(queues).set_axis(within.index)
                                    ).to_numpy(),
    })  # fmt: skip
    return out


def unanswered_by_reason(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """unanswered_by_reason.sql in pandas."""
    s = _between(f.calls, "entered_at", t0, t1)
    outcome = s["outcome"].astype(str)
    short = (outcome == "abandoned") & (s["wait_s"] < 5)
    reason = outcome.where(~short, "short_abandon")
    per = pd.DataFrame({"queue": s["queue"], "reason": reason, "wait_s": s["wait_s"]})
    offered = per.groupby("queue", observed=True).size()
    unanswered = (reason != "answered").groupby(per["queue"], observed=True).sum()
    g = per.groupby(["queue", "reason"], observed=True)["wait_s"]
    grid = pd.MultiIndex.from_product([offered.index, REASONS])
    calls = g.size().reindex(grid, fill_value=0)
    queues = grid.get_level_values(0)
    off = offered.reindex(queues).to_numpy()
    una = unanswered.reindex(queues).to_numpy()
    return pd.DataFrame({
        "queue": queues, "reason": grid.get_level_values(1), "calls": calls.to_numpy(),
        "wait_avg_s": g.mean().reindex(grid).to_numpy(),
        "unanswered_pct": np.where(una > 0, 100.0 * calls.to_numpy() / np.maximum(una, 1),
                                   np.nan),
        "offered_pct": np.where(off > 0, 100.0 * calls.to_numpy() / np.maximum(off, 1), np.nan),
    })  # fmt: skip


def day_hour_matrix(f: Frames, t0: datetime, t1: datetime, tz: str) -> pd.DataFrame:
    """day_hour_matrix.sql in pandas."""
    s = _between(f.calls, "entered_at", t0, t1)
    local = s["entered_at"].dt.tz_convert(tz)
    a = s["outcome"] == "answered"
    flags = pd.DataFrame({
        "weekday": local.dt.dayofweek + 1, "hour": local.dt.hour, "offered": 1,
        "answered": a, "answered_within_sl": a & (s["wait_s"] <= _sl(f, s)),
    })  # fmt: skip
    grid = pd.MultiIndex.from_product([range(1, 8), range(24)], names=["weekday", "hour"])
    n = flags.groupby(["weekday", "hour"]).sum().reindex(grid, fill_value=0).reset_index()
    n.insert(1, "day", [DAYS[d - 1] for d in n["weekday"]])
    n["sl_answered_pct"] = _pct(n["answered_within_sl"], n["answered"])
    n["sl_inclusive_pct"] = _pct(n["answered_within_sl"], n["offered"])
    return n


def calls(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """calls.sql in pandas."""
    s = _between(f.calls, "entered_at", t0, t1)
    order = ["entered_at", "pbx", "queue", "call_id"]
    return s[CALL_COLUMNS].sort_values(order, kind="stable").reset_index(drop=True)


def agent_summary(f: Frames, t0: datetime, t1: datetime) -> pd.DataFrame:
    """agent_summary.sql in pandas: calls, rings, and presence folded from the changelog."""
    s = _between(f.calls, "entered_at", t0, t1)
    s = s[(s["outcome"] == "answered") & s["agent"].notna()]
    talk = s.groupby("agent", observed=True)["talk_s"]
    r = _between(f.rings, "started_at", t0, t1)
    r = r[r["agent"].notna()]
    ring = (r["result"] == "noanswer").groupby(r["agent"], observed=True)
    presence, reasons, pieces = _presence(f.members, t0, t1)
    # Occupancy's talk is time-based: every answered talk overlapping the range.
    # (those entered from reach_s before the range on: a binary search, as the others)
    a = _between(f.calls, "entered_at", t0 - timedelta(seconds=f.reach_s), t1)
    a = a[(a["outcome"] == "answered") & a["agent"].notna()]
    a = a[a["answered_at"] + pd.to_timedelta(a["talk_s"], unit="s") > pd.Timestamp(t0)]
    observed = _observed_talk(a, pieces)
    out = pd.DataFrame({
        "answered": talk.size(), "talk_total_s": talk.sum(), "talk_avg_s": talk.mean(),
        "ring_attempts": ring.size(), "ring_noanswer": ring.sum(),
    })  # fmt: skip
    out = out.join(presence, how="outer").join(reasons, how="left").join(observed, how="left")
    out.index = out.index.astype(str)
    out = out.sort_index()
    for col in ("answered", "talk_total_s", "ring_attempts", "ring_noanswer"):
        out[col] = out[col].fillna(0)
    out.insert(3, "aht_s", out["talk_avg_s"])
    out["unpaused_s"] = out["logged_in_s"] - out["pause_s"]
    out["occupancy_pct"] = _pct(out.pop("observed_s").fillna(0.0), out["unpaused_s"])
    known = out["logged_in_s"].notna()
    out["pause_by_reason_s"] = [
        (r if isinstance(r, dict) else {}) if k else None
        for r, k in zip(out.pop("by_reason"), known, strict=True)
    ]
    return out.rename_axis("agent").reset_index()


def _needed(m: pd.DataFrame, t0: datetime, t1: datetime) -> pd.DataFrame:
    """The changelog rows that can hold in [t0, t1), as agent_summary.sql's `scanned` finds them."""
    member = [m["pbx"], m["queue"], m["interface"]]
    seq = m["seq"]
    before = m["since"] <= pd.Timestamp(t0)
    held = seq.where(before).groupby(member, observed=True).max()
    after = seq.where(~before).groupby(member, observed=True).min()
    first = seq.groupby(member, observed=True).min()
    last = seq.where(m["since"] >= pd.Timestamp(t1)).groupby(member, observed=True).min()
    lo = first.where(~(held < after.fillna(np.inf)), held).min()
    hi = last.max() if last.notna().all() else np.inf
    return m.iloc[seq.searchsorted(lo, "left") : seq.searchsorted(hi, "right")]


def _presence(
    m: pd.DataFrame, t0: datetime, t1: datetime
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """logged_in_s, pause_s and pause_by_reason_s per agent, as agent_summary.sql folds them,
    and the devices' pieces (pbx, interface, agent, lo, hi, logged_in, secs), every device
    that has a name joined with its agent even when it has no piece (as `names` is)."""
    now = pd.Timestamp.now(tz="UTC")
    names = m.groupby(["pbx", "interface"], observed=True)["member_name"].last().astype(object)
    m = _needed(m, t0, t1)
    if len(m) > MAX_MEMBER_ROWS:
        raise TooBig(f"{len(m):,} member_states rows")
    member = [m["pbx"], m["queue"], m["interface"]]
    began = m["since"].groupby(member, observed=True).cummax()
    ended = began.groupby(member, observed=True).shift(-1)
    lo = began.clip(lower=pd.Timestamp(t0))
    hi = ended.fillna(now).clip(upper=pd.Timestamp(t1))
    live = m.assign(lo=lo, hi=hi)[hi > lo]
    device = ["pbx", "interface"]
    cuts = pd.concat([live[[*device, "lo"]], live[[*device, "hi"]].rename(columns={"hi": "lo"})])
    cuts = cuts.drop_duplicates().sort_values([*device, "lo"])
    cuts["hi"] = cuts.groupby(device, observed=True)["lo"].shift(-1)
    pieces = cuts.dropna(subset=["hi"])
    memberships = live[[*device, "queue"]].drop_duplicates()
    left = pieces.merge(memberships, on=device).sort_values("lo")
    right = live[[*device, "queue", "lo", "hi", "seq", "present", "paused", "reason"]]
    covered = pd.merge_asof(left, right.sort_values("lo"), on="lo", by=[*device, "queue"],
                            suffixes=("", "_s"))  # fmt: skip
    covered = covered[covered["hi_s"] >= covered["hi"]]
    # bool_and(paused) FILTER (WHERE present): every present membership paused, else false.
    held = covered["present"] & covered["paused"]
    covered = covered.assign(held=held, why=covered["seq"].where(held, -1))
    g = covered.groupby([*device, "lo", "hi"], observed=True)
    n_present, n_held = g["present"].sum(), g["held"].sum()
    pieces = pd.DataFrame({
        "logged_in": n_present > 0, "paused": (n_present > 0) & (n_held == n_present),
        "why": g["why"].max(),
    }).reset_index()  # fmt: skip
    reason_of = m.set_index("seq")["reason"].astype(object)
    pieces["reason"] = reason_of.reindex(pieces["why"]).to_numpy()
    pieces["secs"] = (pieces["hi"] - pieces["lo"]).dt.total_seconds()
    names = names.where(names.notna(), names.index.get_level_values(1)).rename("agent")
    pieces = pieces.join(names, on=device)
    devices = names.reset_index()
    on = pieces[pieces["logged_in"]]
    paused = on[on["paused"]]
    presence = pd.DataFrame({
        "logged_in_s": on.groupby("agent")["secs"].sum(),
        "pause_s": paused.groupby("agent")["secs"].sum(),
    }).reindex(pieces["agent"].unique()).fillna(0.0)  # fmt: skip
    by_reason = paused.groupby(["agent", "reason"], observed=True)["secs"].sum()
    reasons = pd.Series(
        {a: dict(sorted(g.droplevel(0).items())) for a, g in by_reason.groupby(level=0)},
        name="by_reason",
        dtype=object,
    )
    return presence, reasons, pieces.merge(devices, on=[*device, "agent"], how="right")


def _us(times: pd.Series) -> pd.Series:
    """Timestamps as epoch microseconds (int64), as the SQL's epoch_us."""
    return times.astype("datetime64[us, UTC]").astype("int64")


def _observed_talk(answered: pd.DataFrame, pieces: pd.DataFrame) -> pd.Series:
    """Per agent, the talk of `answered` that falls in its devices' logged-in pieces:
    F(end) - F(start), F(t) the logged-in seconds up to t (agent_summary.sql's talk_edges)."""
    device = ["pbx", "interface"]
    p = pieces.dropna(subset=["lo"]).sort_values([*device, "lo"])
    on = p["secs"].where(p["logged_in"].astype(bool), 0.0)
    p = p.assign(
        lo_us=_us(p["lo"]),
        hi_us=_us(p["hi"]),
        before_s=on.groupby([p["pbx"], p["interface"]], observed=True).cumsum() - on,
    )
    t = answered[answered["answered_at"].notna() & (answered["talk_s"] > 0)]
    lo_us = _us(t["answered_at"])
    talks = pd.DataFrame(
        {
            "agent": t["agent"].astype(str).to_numpy(),
            "lo": lo_us.to_numpy(),
            "hi": (lo_us + (t["talk_s"] * 1e6).round().astype("int64")).to_numpy(),
        }
    )
    talks = talks.merge(pieces[[*device, "agent"]].drop_duplicates(), on="agent")
    edges = pd.concat([talks.assign(at=talks["hi"], sign=1.0),
                       talks.assign(at=talks["lo"], sign=-1.0)])  # fmt: skip
    plain = {d: object for d in device}  # merge_asof's `by` wants the same dtypes on both sides
    edges = edges.astype(plain).sort_values("at")
    right = p[[*device, "lo_us", "hi_us", "logged_in", "before_s"]].astype(plain)
    hit = pd.merge_asof(edges, right.sort_values("lo_us"), left_on="at", right_on="lo_us",
                        by=device)  # fmt: skip
    part = (np.minimum(hit["at"], hit["hi_us"]) - hit["lo_us"]).clip(lower=0) / 1e6
    upto = (hit["before_s"] + part.where(hit["logged_in"].astype(bool), 0.0)).fillna(0.0)
    return (hit["sign"] * upto).groupby(hit["agent"]).sum().rename("observed_s")
