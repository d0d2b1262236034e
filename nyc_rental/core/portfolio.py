"""The company's own properties: read from one CSV in the delivery's format, `price` being the asking price, and
judged against the market (the champion's price range).

Unlike a delivery, whose unusable rows are dropped and counted, the portfolio is the company's own list: any
value that cannot be used is an error naming the file, the column and the line, and nothing is priced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nyc_rental.core.cleaning import NOT_NULL_COLUMNS, parse_listings
from nyc_rental.core.delivery import DeliveryError, read_delivery

PORTFOLIO_FILE = "portfolio.csv"
FLAGS = ("under", "within", "over")
SHOWN_ERRORS = 5


class PortfolioError(ValueError):
    """A portfolio file that cannot be priced as it is; the message names the file, the column and the lines."""


def _lines(read: pd.DataFrame, mask: pd.Series, column: str | None = None) -> str:
    rows = read[mask.to_numpy()]
    shown = [
        f"line {line}" + (f" ({value!r})" if column else "")
        for line, value in zip(rows.source_line, rows[column] if column else rows.source_line)
    ][:SHOWN_ERRORS]
    more = f" and {len(rows) - SHOWN_ERRORS} more" if len(rows) > SHOWN_ERRORS else ""
    return ", ".join(shown) + more


def read_portfolio(path: Path) -> pd.DataFrame:
    """The properties of `path`, typed as clean listings (the asking price in `price`), or a PortfolioError."""
    try:
        read = read_delivery(path).frame
    except DeliveryError as error:
        raise PortfolioError(f"portfolio {error}") from None
    name = path.name
    malformed = read.parse_error.notna()
    if malformed.any():
        raise PortfolioError(f"{name}: rows with the wrong number of fields: {_lines(read, malformed)}")
    frame, unparseable = parse_listings(read)
    for column, mask in unparseable.items():
        if mask.any():
            raise PortfolioError(f"{name}: column {column} has values that are not valid: {_lines(read, mask, column)}")
    for column in NOT_NULL_COLUMNS:
        empty = frame[column].isna()
        if empty.any():
            raise PortfolioError(f"{name}: column {column} is empty on {_lines(read, empty)}")
    not_positive = frame.price <= 0
    if not_positive.any():
        raise PortfolioError(
            f"{name}: column price (the asking price) must be above 0: {_lines(read, not_positive, 'price')}"
        )
    repeated = frame.id.duplicated(keep=False)
    if repeated.any():
        raise PortfolioError(f"{name}: column id repeats a property: {_lines(read, repeated, 'id')}")
    return frame.assign(source_line=read.source_line.to_numpy())


def judged(properties: pd.DataFrame, price, low, high) -> pd.DataFrame:
    """Each property of `read_portfolio` against the market: its asking price, the market price and range (rounded
    to the cent), the flag and the gap in percent of the market price."""
    frame = pd.DataFrame(
        {
            "id": properties.id.astype(str).to_numpy(),
            "name": properties["name"].to_numpy(),
            "neighbourhood_group": properties.neighbourhood_group.to_numpy(),
            "neighbourhood": properties.neighbourhood.to_numpy(),
            "room_type": properties.room_type.to_numpy(),
            "asking_price": properties.price.to_numpy(dtype=float),
            "price": np.round(np.asarray(price, dtype=float), 2),
            "price_low": np.round(np.asarray(low, dtype=float), 2),
            "price_high": np.round(np.asarray(high, dtype=float), 2),
        }
    )
    frame["flag"] = flags(frame.asking_price, frame.price_low, frame.price_high)
    frame["gap_percent"] = gap_percent(frame.asking_price, frame.price).round(1)
    return frame


def furthest(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """The `count` properties of `judged` whose asking price is furthest from the market, furthest first."""
    return frame.loc[frame.gap_percent.abs().sort_values(ascending=False, kind="stable").index[:count]]


def flags(asking, low, high) -> np.ndarray:
    """'under' below the range, 'over' above it, 'within' inside it (its ends included)."""
    asking, low, high = (np.asarray(v, dtype=float) for v in (asking, low, high))
    return np.where(asking < low, "under", np.where(asking > high, "over", "within"))


def gap_percent(asking, price) -> np.ndarray:
    """How far the asking price is from the market price, in percent of the market price."""
    price = np.asarray(price, dtype=float)
    return (np.asarray(asking, dtype=float) - price) / np.maximum(price, 1.0) * 100
