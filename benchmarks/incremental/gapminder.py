"""A real public time series as feature snapshots: Gapminder, as shipped inside the `plotly`
wheel (`plotly/package_data/datasets/gapminder.csv.gz`, read with `plotly.data.gapminder`),
so it works offline once `python[bench]` is installed.

The data: 142 countries observed every 5 years from 1952 to 2007 (1,704 rows): life
expectancy at birth, population and GDP per capita (inflation-adjusted US$), and continent.
Source: the Gapminder Foundation (gapminder.org), licence CC BY 4.0, as cleaned by Jenny
Bryan's `gapminder` R package; plotly (MIT) ships that excerpt.

As snapshots (uuid = country, node_id = continent, time = 1 January of the year):
features `life_exp`, `log_gdp` (log10 GDP per capita), `log_pop` (log10 population),
`life_exp_gain_prev` and `log_gdp_growth_prev` (change since the country's previous
observation, known at that time; missing in 1952) and the categorical `continent`.

Label: does life expectancy rise by more than the data set's median 5-year gain (1.65
years) by the country's next observation? Tagged (labelled) snapshots are those with a next
observation (1952-2002). The drift is real: 74 % of countries beat the median in 1952-57,
27 % in 1997-2002 (gains shrink as life expectancy rises), and the relation between level
and gain changes (HIV/AIDS in southern Africa, the post-Soviet crisis in the 1990s)."""

import itertools
import json
import math
from datetime import UTC, datetime

import numpy as np

from trainplat.doris.schema import SnapshotRow, encode_time

FIRST_YEAR, LAST_YEAR = 1952, 2007


def gapminder_rows() -> list[SnapshotRow]:
    from plotly.data import gapminder  # the bench extra; imported here so synthetic runs need none

    frame = gapminder(return_type="pandas").sort_values(["country", "year"])
    by_country = frame.groupby("country", sort=False)
    gain_next = by_country["lifeExp"].shift(-1) - frame["lifeExp"]
    threshold = float(np.nanmedian(gain_next.to_numpy()))
    gain_prev = frame["lifeExp"] - by_country["lifeExp"].shift(1)
    log_gdp = np.log10(frame["gdpPercap"])
    growth_prev = log_gdp - np.log10(by_country["gdpPercap"].shift(1))
    rows = []
    for index, record in enumerate(frame.itertuples(index=False)):
        moment = datetime(int(record.year), 1, 1, tzinfo=UTC)
        tagged = not math.isnan(float(gain_next.iloc[index]))
        features = {
            "life_exp": float(record.lifeExp),
            "log_gdp": float(log_gdp.iloc[index]),
            "log_pop": math.log10(float(record.pop)),
            "life_exp_gain_prev": _or_none(float(gain_prev.iloc[index])),
            "log_gdp_growth_prev": _or_none(float(growth_prev.iloc[index])),
            "continent": str(record.continent),
            "label": int(float(gain_next.iloc[index]) > threshold) if tagged else None,
        }
        row = SnapshotRow(
            uuid=str(record.country), node_id=str(record.continent), time=encode_time(moment),
            features=json.dumps(features), is_tag=tagged, created_at=encode_time(moment),
        )  # fmt: skip
        rows.append(row)
    return rows


def period_bounds(windows: int) -> list[tuple[datetime, datetime]]:
    """`windows` consecutive periods covering 1952-2007, split at whole years."""
    edges = np.linspace(FIRST_YEAR, LAST_YEAR + 1, windows + 1).round().astype(int)
    return [
        (datetime(int(a), 1, 1, tzinfo=UTC), datetime(int(b), 1, 1, tzinfo=UTC))
        for a, b in itertools.pairwise(edges)
    ]


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value
