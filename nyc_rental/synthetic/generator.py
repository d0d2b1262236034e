"""Deterministic synthetic deliveries of New York Airbnb listings (Inside Airbnb summary format).

The real listings may not be copied into the repository, so this module is the project's own
default and demo data: it produces frames (and CSV files) that look like the weekly deliveries the
pipeline ingests, realistic enough that the cleaning, validation, drift checks and the price model
behave on them roughly as they do on the real data.

The distributions come from :mod:`nyc_rental.synthetic.calibration` (aggregate statistics of the
July 2019 Inside Airbnb New York City snapshot, and what is calibrated on what); the boroughs, the
New York bounding box and the price floor are the platform's rules, from :mod:`nyc_rental.core.rules`.

The price is built as a product of learnable effects (borough × room type, neighbourhood, unit size
and quality as also spelled out in the title, minimum nights, availability) and noise, so a
regression model gets a test R² in the same range as on the real data (about 0.5 here, 0.56 on
the real samples with the same gradient-boosting model).

Randomness comes from ``numpy.random.default_rng`` seeded with ``[seed, stream, week]``: the same
arguments always give the same frame, and week 0 of :func:`generate_weeks` equals
:func:`generate_listings` for the first delivery date.
"""

from __future__ import annotations

import datetime
import os
import pathlib
from statistics import NormalDist

import numpy as np
import pandas as pd

from nyc_rental.core import rules
from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.synthetic.calibration import (
    ADJECTIVES,
    AVAILABILITY_EFFECT,
    AVAILABILITY_FULL_SHARE,
    AVAILABILITY_QUANTILES,
    AVAILABILITY_ZERO_SHARE,
    BAD_HIGH_PRICES,
    BEDROOMS,
    BOROUGH_BOXES,
    BOROUGH_SHARES,
    BUDGET_WORDS,
    CORPORATE_HOST_MIN_LISTINGS,
    CORPORATE_HOST_NAMES,
    DAYS_SINCE_LAST_REVIEW_QUANTILES,
    ENTIRE_NOUNS,
    HOST_FIRST_NAMES,
    HOST_ID_QUANTILES,
    HOST_SIZE_PROBS,
    HOST_SIZE_RANGES,
    ID_HOST_CORRELATION,
    LANDMARKS,
    LISTING_ID_QUANTILES,
    LOCATION_PHRASE_SHARES,
    LUXURY_EXTRAS,
    LUXURY_NOUNS,
    LUXURY_WORDS,
    MAX_NATURAL_PRICE,
    MAX_REVIEWS_PER_MONTH,
    MEDIAN_PRICE,
    MIN_NIGHTS_EFFECT,
    MIN_NIGHTS_LONG_SHARE,
    MIN_NIGHTS_LONG_TAIL,
    MIN_NIGHTS_PROBS,
    MIN_NIGHTS_RARE_SHORT,
    MIN_NIGHTS_VALUES,
    MISSING_HOST_NAME_SHARE,
    MISSING_NAME_SHARE,
    MONTHS_ACTIVE_QUANTILES,
    NEIGHBOURHOODS,
    NEW_LISTING_EXISTING_HOST_SHARE,
    OUTSIDE_POINTS,
    PARTIAL_EXPORT_LOSS,
    PLAIN_EXTRAS,
    PRICE_NOISE_SD,
    PRICE_TAIL_SCALE,
    PRICE_TAIL_SHARE,
    PRIVATE_NOUNS,
    QUANTILE_LEVELS,
    REVIEW_COPULA,
    REVIEWS_QUANTILES,
    ROOM_SHARES,
    ROOM_SIZES,
    ROOM_TYPES,
    SHARED_NOUNS,
    TIERS,
    UNREVIEWED_REVIEW_PACE,
    WEEKLY_CHURN,
    WEEKLY_PRICE_CHANGE_SD,
    WEEKLY_PRICE_CHANGE_SHARE,
    ZERO_REVIEWS_SHARE,
)

# The rules' boroughs (rules.BOROUGHS, checked by calibration) in the calibration's order, which fixes which
# random draw means which borough: reordering them would change every generated frame.
_BOROUGHS: tuple[str, ...] = tuple(BOROUGH_SHARES)

# --- Internal stream ids for numpy's SeedSequence -------------------------------------------

_POPULATION_STREAM = 0
_DELIVERY_STREAM = 1
_WEEK_STREAM = 2
_DAYS_PER_MONTH = 30  # Inside Airbnb's month when computing reviews_per_month


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def default_bad_rows(rows: int) -> int:
    """Bad rows per delivery: a few, growing slowly with size, never more than the frame."""
    return min(rows, max(3, rows // 5000))


def generate_listings(
    rows: int,
    seed: int = 42,
    snapshot: datetime.date = datetime.date(2019, 7, 8),
    bad_rows: int | None = None,
) -> pd.DataFrame:
    """One synthetic delivery of ``rows`` listings as scraped on ``snapshot``.

    ``bad_rows`` of the rows (default :func:`default_bad_rows`) are deliberately broken the way
    real deliveries occasionally are (price 0, price above 5,000, a point outside the NYC box) so
    the pipeline's cleaning has something to drop; they are part of ``rows``.
    """
    n_bad = _validate_sizes(rows, bad_rows)
    population = _draw_population(_rng(seed, _POPULATION_STREAM), rows, snapshot)
    return _deliver(population, _rng(seed, _DELIVERY_STREAM, 0), snapshot, n_bad)


def generate_weeks(
    weeks: int,
    rows: int,
    first_week: datetime.date = datetime.date(2019, 7, 1),
    seed: int = 42,
) -> list[tuple[datetime.date, pd.DataFrame]]:
    """Consecutive weekly deliveries of the same evolving set of listings.

    Week ``i`` starts on ``first_week + 7 * i`` days (a Monday) and is delivered on that week's
    Wednesday. Between weeks about 3 % of listings leave and are replaced by new ids, a few prices
    move, and reviews accrue, so consecutive deliveries share most ids and the drift checks see a
    stable population. Each delivery has exactly ``rows`` rows including its own few bad rows.
    """
    if weeks < 0:
        raise ValueError(f"weeks must be >= 0, got {weeks}")
    n_bad = _validate_sizes(rows, None)
    deliveries: list[tuple[datetime.date, pd.DataFrame]] = []
    population: pd.DataFrame | None = None
    for week in range(weeks):
        delivery_date = first_week + datetime.timedelta(days=7 * week + 2)
        if population is None:
            population = _draw_population(_rng(seed, _POPULATION_STREAM), rows, delivery_date)
        else:
            population = _advance_week(population, _rng(seed, _WEEK_STREAM, week), delivery_date)
        frame = _deliver(population, _rng(seed, _DELIVERY_STREAM, week), delivery_date, n_bad)
        deliveries.append((delivery_date, frame))
    return deliveries


PORTFOLIO_SEED_STREAM = 7_000  # the portfolio's listings are drawn apart from every delivery's
OFF_MARKET_SHARE = 0.1  # of the portfolio asked at about twice the market, and as many at about half of it


def generate_portfolio(rows: int = 200, seed: int = 42, snapshot: datetime.date = datetime.date(2019, 7, 1)):
    """A property-management company's own listings in the delivery's columns, `price` its asking price: most at
    the synthetic market's own price, a tenth at about twice it and a tenth at about half of it, so that the weekly
    portfolio_prices has properties to flag on day one."""
    frame = generate_listings(rows, seed=seed + PORTFOLIO_SEED_STREAM, snapshot=snapshot, bad_rows=0)
    rng = _rng(seed, PORTFOLIO_SEED_STREAM)
    factor = np.ones(len(frame))
    chosen = rng.permutation(len(frame))
    off = int(round(len(frame) * OFF_MARKET_SHARE))
    factor[chosen[:off]] = rng.uniform(1.9, 2.6, off)
    factor[chosen[off : 2 * off]] = rng.uniform(0.35, 0.5, off)
    frame["price"] = np.maximum(np.round(frame["price"].astype(float) * factor), rules.ListingLimits().min_price)
    frame["price"] = frame["price"].astype(int)
    return frame


def without_most_of_manhattan(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A partial export, the drift check's textbook case: nine Manhattan listings in ten are missing."""
    manhattan = frame.index[frame.neighbourhood_group == "Manhattan"]
    lost = pd.Series(manhattan).sample(frac=PARTIAL_EXPORT_LOSS, random_state=seed)
    return frame.drop(index=lost)


def rows_before_partial_export(rows: int) -> int:
    """How many listings to draw so that about `rows` are left once most of Manhattan is gone."""
    return round(rows / (1 - PARTIAL_EXPORT_LOSS * BOROUGH_SHARES["Manhattan"]))


def write_delivery(frame: pd.DataFrame, path: pathlib.Path) -> pathlib.Path:
    """Write ``frame`` as an Inside Airbnb summary CSV, atomically.

    The file is first written to the hidden ``.<name>.tmp`` beside ``path`` and then renamed over
    it, so a folder watcher never picks up a half-written delivery. Floats are rounded the way
    Inside Airbnb publishes them (coordinates to 5 decimals, reviews per month to 2) and written
    in their shortest form, missing values as empty fields.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for column, decimals in (("latitude", 5), ("longitude", 5), ("reviews_per_month", 2)):
        if column in out.columns:
            out[column] = out[column].round(decimals)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            out.to_csv(handle, index=False, lineterminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def delivery_file_name(delivery_date: datetime.date) -> str:
    """File name of the delivery made on ``delivery_date``, e.g. ``listings_2019-07-03.csv``."""
    return f"listings_{delivery_date.isoformat()}.csv"


# ---------------------------------------------------------------------------------------------
# Population: listings with their hidden state (first/last review dates)
# ---------------------------------------------------------------------------------------------


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """Independent, reproducible stream per purpose (and week), so streams never interfere."""
    return np.random.default_rng([seed, *stream])


def _validate_sizes(rows: int, bad_rows: int | None) -> int:
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    n_bad = default_bad_rows(rows) if bad_rows is None else bad_rows
    if not 0 <= n_bad <= rows:
        raise ValueError(f"bad_rows must be within 0..{rows}, got {n_bad}")
    return n_bad


def _draw_population(rng: np.random.Generator, rows: int, snapshot: datetime.date) -> pd.DataFrame:
    """An established set of listings: reviews accumulated over years, hosts with many listings."""
    listings = _draw_listings(rng, rows, snapshot)
    host_z, host_ids, host_names, host_of_listing = _draw_hosts(rng, rows)
    own_z = rng.standard_normal(rows)
    own_weight = np.sqrt(1 - ID_HOST_CORRELATION**2)
    id_z = ID_HOST_CORRELATION * host_z[host_of_listing] + own_weight * own_z
    listings.insert(0, "id", _unique_ids(_from_quantiles(id_z, LISTING_ID_QUANTILES)))
    listings.insert(2, "host_id", host_ids[host_of_listing])
    listings.insert(3, "host_name", host_names[host_of_listing])
    return listings


def _draw_listings(rng: np.random.Generator, n: int, snapshot: datetime.date) -> pd.DataFrame:
    """Listing attributes without ids or hosts, plus hidden review state.

    The hidden columns (first and last review date, reviews per active month) let later weeks
    add reviews consistently; they are dropped from deliveries.
    """
    borough = rng.choice(len(_BOROUGHS), size=n, p=_normalised(BOROUGH_SHARES.values()))
    room = _choice_per_group(rng, borough, np.array([ROOM_SHARES[b] for b in _BOROUGHS]))
    hood_names, hood_index, hood_table = _neighbourhood_table()
    hood = hood_index[borough, _choice_per_group(rng, borough, hood_table)]
    latitude, longitude = _draw_coordinates(rng, borough, hood)
    bedrooms, room_size, tier = _draw_latent_quality(rng, n)
    minimum_nights = _draw_minimum_nights(rng, room)
    reviews, first_review, last_review, review_pace = _draw_reviews(rng, n, snapshot)
    availability = _draw_availability(rng, borough, reviews)
    price = _draw_price(rng, borough, room, hood, bedrooms, room_size, tier, minimum_nights, availability)
    boroughs = np.array(_BOROUGHS, dtype=object)[borough]
    hoods = hood_names[hood]
    titles = _with_a_few_missing(
        rng, _draw_titles(rng, borough, hoods, room, bedrooms, room_size, tier), MISSING_NAME_SHARE
    )
    return pd.DataFrame(
        {
            "name": titles,
            "neighbourhood_group": boroughs,
            "neighbourhood": hoods,
            "latitude": latitude,
            "longitude": longitude,
            "room_type": np.array(ROOM_TYPES, dtype=object)[room],
            "price": price,
            "minimum_nights": minimum_nights,
            "number_of_reviews": reviews,
            "availability_365": availability,
            "first_review": first_review,
            "last_review_date": last_review,
            "review_pace": review_pace,
        }
    )


def _with_a_few_missing(rng: np.random.Generator, values, share: float) -> np.ndarray:
    """A few real listings lack a title or a host name; they stay missing week after week."""
    values = np.asarray(values, dtype=object)
    return np.where(rng.random(len(values)) < share, np.nan, values)


def _normalised(weights) -> np.ndarray:
    array = np.asarray(list(weights), dtype=float)
    return array / array.sum()


def _choice_per_group(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw where row ``i`` uses the probability row ``probs[group[i]]``."""
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cumulative[cumulative > 1.0 - 1e-9] = 1.0  # rounding must never select a zero-share slot
    u = rng.random(len(group))
    return (u[:, None] > cumulative[group]).sum(axis=1)


def _neighbourhood_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat neighbourhood names, a borough x slot -> flat index map, and per-borough shares."""
    width = max(len(hoods) for hoods in NEIGHBOURHOODS.values())
    names: list[str] = []
    index = np.zeros((len(_BOROUGHS), width), dtype=int)
    shares = np.zeros((len(_BOROUGHS), width))
    for b, borough in enumerate(_BOROUGHS):
        for slot, hood in enumerate(NEIGHBOURHOODS[borough]):
            index[b, slot] = len(names)
            shares[b, slot] = hood[1]
            names.append(hood[0])
    return np.array(names, dtype=object), index, shares


def _hood_column(position: int) -> np.ndarray:
    """One numeric field of NEIGHBOURHOODS, flattened in _neighbourhood_table order."""
    return np.array([hood[position] for b in _BOROUGHS for hood in NEIGHBOURHOODS[b]])


def _draw_coordinates(rng: np.random.Generator, borough: np.ndarray, hood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points around the neighbourhood centre, kept inside the borough's range and the NYC box."""
    n = len(hood)
    boxes = np.array([BOROUGH_BOXES[b] for b in _BOROUGHS])[borough]
    box = rules.NYC_BOUNDING_BOX
    spread = np.clip(rng.standard_normal((2, n)), -2.5, 2.5)
    latitude = _hood_column(2)[hood] + _hood_column(4)[hood] * spread[0]
    longitude = _hood_column(3)[hood] + _hood_column(5)[hood] * spread[1]
    latitude = np.clip(latitude, np.maximum(boxes[:, 0], box.min_latitude), np.minimum(boxes[:, 1], box.max_latitude))
    longitude = np.clip(
        longitude, np.maximum(boxes[:, 2], box.min_longitude), np.minimum(boxes[:, 3], box.max_longitude)
    )
    return latitude.round(5), longitude.round(5)


def _days_since(today: np.datetime64, dates: np.ndarray) -> np.ndarray:
    """Whole days from ``dates`` to ``today`` as floats, NaN where the date is missing."""
    dates = dates.astype("datetime64[D]")
    days = (today - dates).astype("timedelta64[D]").astype(float)
    return np.where(np.isnat(dates), np.nan, days)


def _draw_latent_quality(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit size and quality tier: unseen by tabular models, visible only through the title."""
    bedrooms = rng.choice(len(BEDROOMS), size=n, p=_normalised(s for s, _ in BEDROOMS))
    room_size = rng.choice(len(ROOM_SIZES), size=n, p=_normalised(s for s, _ in ROOM_SIZES))
    tier = rng.choice(len(TIERS), size=n, p=_normalised(s for s, _ in TIERS))
    return bedrooms, room_size, tier


def _draw_minimum_nights(rng: np.random.Generator, room: np.ndarray) -> np.ndarray:
    """Common values per room type, then rare short values and a long-stay tail."""
    common = np.array([MIN_NIGHTS_PROBS[r] for r in ROOM_TYPES])
    rest = 1.0 - common.sum(axis=1, keepdims=True)
    long_share = np.full_like(rest, MIN_NIGHTS_LONG_SHARE)
    probs = np.hstack([common, rest - long_share, long_share])
    slot = _choice_per_group(rng, room, probs)
    values = np.array(MIN_NIGHTS_VALUES)[np.minimum(slot, len(MIN_NIGHTS_VALUES) - 1)]
    rare = rng.choice(MIN_NIGHTS_RARE_SHORT, size=len(room))
    long_tail = rng.choice(
        [nights for nights, _ in MIN_NIGHTS_LONG_TAIL],
        size=len(room),
        p=_normalised(weight for _, weight in MIN_NIGHTS_LONG_TAIL),
    )
    values = np.where(slot == len(MIN_NIGHTS_VALUES), rare, values)
    return np.where(slot == len(MIN_NIGHTS_VALUES) + 1, long_tail, values).astype(np.int64)


def _z_grid() -> np.ndarray:
    """Standard-normal scores of QUANTILE_LEVELS (the extreme levels capped at +-3.5)."""
    inner = [NormalDist().inv_cdf(p) for p in QUANTILE_LEVELS[1:-1]]
    return np.array([-3.5, *inner, 3.5])


def _from_quantiles(z: np.ndarray, quantiles) -> np.ndarray:
    """Map standard-normal scores through a quantile table (a Gaussian-copula marginal)."""
    return np.interp(z, _z_grid(), np.asarray(quantiles, dtype=float))


def _draw_reviews(
    rng: np.random.Generator, n: int, snapshot: datetime.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Review count, first/last review dates and review pace (reviews per month), jointly.

    Counts and dates come from the copula, so reviews_per_month is consistent with them; the
    pace is the rate at which later weeks add reviews.
    """
    no_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    z = rng.standard_normal((n, 3)) @ np.linalg.cholesky(REVIEW_COPULA).T
    reviews = np.rint(_from_quantiles(z[:, 0], REVIEWS_QUANTILES)).astype(np.int64)
    reviews[rng.random(n) < ZERO_REVIEWS_SHARE] = 0
    months = _from_quantiles(z[:, 1], MONTHS_ACTIVE_QUANTILES)
    # A listing cannot collect reviews faster than it is booked: cap the pace at a few per month.
    months = np.maximum(months, reviews / rng.uniform(*MAX_REVIEWS_PER_MONTH, n))
    active_days = np.rint(months * _DAYS_PER_MONTH)
    since_last = np.rint(_from_quantiles(z[:, 2], DAYS_SINCE_LAST_REVIEW_QUANTILES))
    since_last = np.where(reviews == 1, active_days, np.minimum(since_last, active_days))
    today = np.datetime64(snapshot, "D")
    reviewed = reviews > 0
    first = np.where(reviewed, today - active_days.astype("timedelta64[D]"), no_date)
    last = np.where(reviewed, today - since_last.astype("timedelta64[D]"), no_date)
    # Listings reviewed within the last year keep their lifetime pace; the others have stopped
    # (or, never reviewed, rarely start), which keeps the recency of reviews stable over weeks.
    active = reviewed & (since_last <= 365)
    pace = np.where(active, reviews / months, np.where(reviewed, 0.0, UNREVIEWED_REVIEW_PACE))
    return reviews, first, last, pace


def _draw_availability(rng: np.random.Generator, borough: np.ndarray, reviews: np.ndarray) -> np.ndarray:
    """Days open in the next year: many closed calendars (more so without reviews), some full."""
    n = len(borough)
    zero_share = np.array([AVAILABILITY_ZERO_SHARE[b] for b in _BOROUGHS])[borough]
    zero_share = zero_share * np.where(reviews == 0, 1.45, 0.9)
    u = rng.random(n)
    open_days = np.rint(_from_quantiles(rng.standard_normal(n), AVAILABILITY_QUANTILES))
    days = np.where(u < zero_share, 0, np.where(u > 1 - AVAILABILITY_FULL_SHARE, 365, open_days))
    return days.astype(np.int64)


def _step_effect(values: np.ndarray, steps) -> np.ndarray:
    """Piecewise-constant effect: ``steps`` are (lower bound, effect), ascending."""
    bounds = np.array([lower for lower, _ in steps])
    effects = np.array([effect for _, effect in steps])
    return effects[np.searchsorted(bounds, values, side="right") - 1]


def _centred_effects(table) -> np.ndarray:
    """Effects of a latent category minus their mean, so medians stay at the calibrated values."""
    shares = _normalised(s for s, _ in table)
    effects = np.array([e for _, e in table])
    return effects - shares @ effects


def _draw_price(
    rng: np.random.Generator,
    borough: np.ndarray,
    room: np.ndarray,
    hood: np.ndarray,
    bedrooms: np.ndarray,
    room_size: np.ndarray,
    tier: np.ndarray,
    minimum_nights: np.ndarray,
    availability: np.ndarray,
) -> np.ndarray:
    """Log-additive price: learnable effects times normal noise with a sparse long right tail."""
    n = len(room)
    log_price = np.log(np.array([MEDIAN_PRICE[b] for b in _BOROUGHS]))[borough, room]
    log_price += np.log(_hood_column(6))[hood]
    log_price += np.where(room == 0, _centred_effects(BEDROOMS)[bedrooms], 0.0)
    log_price += np.where(room == 1, _centred_effects(ROOM_SIZES)[room_size], 0.0)
    log_price += _centred_effects(TIERS)[tier]
    log_price += _step_effect(minimum_nights, MIN_NIGHTS_EFFECT)
    log_price += _step_effect(availability, AVAILABILITY_EFFECT)
    noise = rng.normal(0.0, np.asarray(PRICE_NOISE_SD)[room])
    # The tail only lifts listings already above the median, so the median stays calibrated.
    tail = (rng.random(n) < 2 * PRICE_TAIL_SHARE) & (noise > 0)
    log_price += noise + np.where(tail, rng.exponential(PRICE_TAIL_SCALE, n), 0.0)
    return _round_like_hosts(rng, np.exp(log_price))


def _round_like_hosts(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
    """Hosts favour round prices: about 70 % of real prices are multiples of 5."""
    u = rng.random(len(price))
    step = np.where(u < 0.30, 10, np.where(u < 0.65, 5, 1))
    rounded = np.rint(price / step) * step
    return np.clip(rounded, rules.MIN_PRICE, MAX_NATURAL_PRICE).astype(np.int64)


def _pick(rng: np.random.Generator, words, n: int) -> np.ndarray:
    """``n`` words drawn uniformly from ``words``."""
    return np.array(words, dtype=object)[rng.integers(0, len(words), n)]


def _pick_from_pools(rng: np.random.Generator, pools, pool: np.ndarray) -> np.ndarray:
    """Row ``i`` gets a uniform draw from ``pools[pool[i]]``: one vectorised take for all pools."""
    flat = np.array([word for words in pools for word in words], dtype=object)
    sizes = np.array([len(words) for words in pools])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    offset = np.floor(rng.random(len(pool)) * sizes[pool]).astype(int)
    return flat[starts[pool] + offset]


def _draw_titles(
    rng: np.random.Generator,
    borough: np.ndarray,
    hoods: np.ndarray,
    room: np.ndarray,
    bedrooms: np.ndarray,
    room_size: np.ndarray,
    tier: np.ndarray,
) -> list[str]:
    """Titles like "Sunny 2BR near Central Park" that spell out size and quality like hosts do.

    The latent size and tier that move the price show up in the words ("Studio", "3BR",
    "Luxury", "Penthouse", "Tiny", "Shared"), which is what lets a text feature help the model.
    """
    n = len(room)
    budget, luxury = tier == 0, tier == 2
    # Noun pools: 0-2 private room sizes, 3-7 entire home by bedrooms, 8 luxury, 9 shared.
    noun_pools = (*PRIVATE_NOUNS, *ENTIRE_NOUNS, LUXURY_NOUNS, SHARED_NOUNS)
    noun_pool = np.where(room == 0, 3 + bedrooms, room_size)
    noun_pool = np.where((room == 0) & luxury & (rng.random(n) < 0.4), 8, noun_pool)
    noun_pool = np.where(room == 2, 9, noun_pool)
    nouns = _pick_from_pools(rng, noun_pools, noun_pool)

    # Adjective pools: 0 none, 1 plain, 2 plain pair, 3 luxury, 4 budget.
    pairs = tuple(
        f"{a} {join} {b}" for a, b in zip(ADJECTIVES, ADJECTIVES[7:] + ADJECTIVES[:7]) for join in ("&", "and")
    )
    u = rng.random(n)
    adjective_pool = np.where(u < 0.15, 0, np.where(u < 0.40, 2, 1))
    tiered = rng.random(n) < 0.75
    adjective_pool = np.where(luxury & tiered, 3, np.where(budget & tiered, 4, adjective_pool))
    adjectives = _pick_from_pools(rng, (("",), ADJECTIVES, pairs, LUXURY_WORDS, BUDGET_WORDS), adjective_pool)

    boroughs = np.array(_BOROUGHS, dtype=object)[borough]
    landmarks = _pick_from_pools(rng, tuple(LANDMARKS[b] for b in _BOROUGHS), borough)
    minutes = _pick(rng, ("10", "15", "20", "25", "30"), n)
    shares = _normalised(LOCATION_PHRASE_SHARES)
    location_kind = rng.choice(len(shares), size=n, p=shares)
    no_phrase = len(shares) - 1  # "min to Manhattan" makes no sense in Manhattan
    in_manhattan = borough == _BOROUGHS.index("Manhattan")
    location_kind = np.where((location_kind == 3) & in_manhattan, no_phrase, location_kind)

    plain_extra = np.where(rng.random(n) < 0.15, 2, 0)
    extra_pool = np.where(luxury & (rng.random(n) < 0.5), 1, plain_extra)
    extras = _pick_from_pools(rng, (("",), LUXURY_EXTRAS, PLAIN_EXTRAS), extra_pool)

    titles = [
        _title(adjective, noun, kind, hood, borough, landmark, minute, extra)
        for adjective, noun, kind, hood, borough, landmark, minute, extra in zip(
            adjectives, nouns, location_kind, hoods, boroughs, landmarks, minutes, extras
        )
    ]
    return _vary_case(rng, titles)


def _title(
    adjective: str, noun: str, kind: int, hood: str, borough: str, landmark: str, minutes: str, extra: str
) -> str:
    """Assemble one title from its parts; ``kind`` chooses how the location is phrased."""
    head = f"{adjective} {noun}" if adjective else noun
    if kind == 9:  # "Williamsburg Sunny Loft"
        head, location = f"{hood} {head}", ""
    else:
        location = (
            f" in {hood}",
            f" in {borough}",
            f" near {landmark}",
            f", {minutes} min to Manhattan",
            f" in the Heart of {hood}",
            " in NYC",
            f" by {landmark}",
            f" - {hood}",
            f" close to {landmark}",
            "",
            "",
        )[kind]
    return f"{head}{location} {extra}" if extra else f"{head}{location}"


def _vary_case(rng: np.random.Generator, titles: list[str]) -> list[str]:
    """Real titles are not all neatly capitalised: some whisper, some shout, some exclaim."""
    u = rng.random(len(titles))
    exclaim = rng.random(len(titles)) < 0.10
    for i in np.flatnonzero(u < 0.08):
        titles[i] = titles[i].lower()
    for i in np.flatnonzero(u > 0.97):
        titles[i] = titles[i].upper()
    for i in np.flatnonzero(exclaim):
        titles[i] += "!"
    return titles


def _draw_host_sizes(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Listings per host until ``rows`` listings are covered (the last host is cut to fit)."""
    sizes = np.arange(1, len(HOST_SIZE_PROBS) + 1)
    probs = [*HOST_SIZE_PROBS, *(p for _, p in HOST_SIZE_RANGES)]
    drawn: list[np.ndarray] = []
    total = 0
    while total < rows:
        n = max(16, int(rows / 1.2))
        kind = rng.choice(len(probs), size=n, p=_normalised(probs))
        lows = np.array([*sizes, *(lo for (lo, _), _ in HOST_SIZE_RANGES)])[kind]
        highs = np.array([*sizes, *(hi for (_, hi), _ in HOST_SIZE_RANGES)])[kind]
        log_uniform = np.exp(rng.uniform(np.log(lows), np.log(highs + 1)))
        batch = np.clip(np.floor(log_uniform), lows, highs).astype(np.int64)
        drawn.append(batch)
        total += int(batch.sum())
    all_sizes = np.concatenate(drawn)
    count = int(np.searchsorted(np.cumsum(all_sizes), rows)) + 1
    all_sizes = all_sizes[:count]
    all_sizes[-1] -= int(all_sizes.sum()) - rows
    return all_sizes


def _draw_hosts(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per host: copula score, id and name; and which host each listing belongs to.

    The score is returned so listing ids can correlate with host ids (long-standing hosts have
    older listings); hosts with many listings get company names, as in the real data.
    """
    sizes = _draw_host_sizes(rng, rows)
    n_hosts = len(sizes)
    host_z = rng.standard_normal(n_hosts)
    host_ids = _unique_ids(_from_quantiles(host_z, HOST_ID_QUANTILES))
    weights = 1.0 / (np.arange(len(HOST_FIRST_NAMES)) + 8.0)
    names = np.array(HOST_FIRST_NAMES, dtype=object)[
        rng.choice(len(HOST_FIRST_NAMES), size=n_hosts, p=weights / weights.sum())
    ]
    corporate = np.flatnonzero(sizes >= CORPORATE_HOST_MIN_LISTINGS)
    names[corporate] = np.array(CORPORATE_HOST_NAMES, dtype=object)[
        np.arange(len(corporate)) % len(CORPORATE_HOST_NAMES)
    ]
    names = _with_a_few_missing(rng, names, MISSING_HOST_NAME_SHARE)
    host_of_listing = rng.permutation(np.repeat(np.arange(n_hosts), sizes))
    return host_z, host_ids, names, host_of_listing


def _unique_ids(values: np.ndarray) -> np.ndarray:
    """Integer ids near ``values`` made unique by nudging ties upwards, keeping the order."""
    order = np.argsort(values, kind="stable")
    sorted_ids = np.floor(values[order]).astype(np.int64)
    steps = np.arange(len(sorted_ids))
    sorted_ids = np.maximum.accumulate(sorted_ids - steps) + steps
    ids = np.empty_like(sorted_ids)
    ids[order] = sorted_ids
    return ids


# ---------------------------------------------------------------------------------------------
# Weekly evolution and delivery
# ---------------------------------------------------------------------------------------------


def _advance_week(population: pd.DataFrame, rng: np.random.Generator, snapshot: datetime.date) -> pd.DataFrame:
    """One week later: some listings leave and new ones arrive, prices move, reviews accrue."""
    leaving = rng.random(len(population)) < WEEKLY_CHURN
    kept = population.loc[~leaving].reset_index(drop=True)
    kept = _move_prices(kept, rng)
    kept = _accrue_reviews(kept, rng, snapshot)
    newcomers = _new_listings(rng, int(leaving.sum()), population, kept, snapshot)
    return pd.concat([kept, newcomers], ignore_index=True)


def _move_prices(listings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A few hosts adjust their price by a few percent each week."""
    n = len(listings)
    change = rng.random(n) < WEEKLY_PRICE_CHANGE_SHARE
    factor = np.exp(rng.normal(0.0, WEEKLY_PRICE_CHANGE_SD, n))
    moved = np.clip(np.rint(listings["price"].to_numpy() * factor), rules.MIN_PRICE, MAX_NATURAL_PRICE)
    listings["price"] = np.where(change, moved, listings["price"]).astype(np.int64)
    return listings


def _accrue_reviews(listings: pd.DataFrame, rng: np.random.Generator, snapshot: datetime.date) -> pd.DataFrame:
    """New reviews at each listing's pace; listings without recent reviews rarely get any."""
    today = np.datetime64(snapshot, "D")
    reviews = listings["number_of_reviews"].to_numpy()
    first = listings["first_review"].to_numpy().astype("datetime64[D]")
    last = listings["last_review_date"].to_numpy().astype("datetime64[D]")
    reviewed = reviews > 0
    new_reviews = rng.poisson(listings["review_pace"].to_numpy() * 7 / _DAYS_PER_MONTH)
    got = new_reviews > 0
    review_day = today - rng.integers(0, 7, len(reviews)).astype("timedelta64[D]")
    listings["number_of_reviews"] = reviews + new_reviews
    listings["last_review_date"] = np.where(got, review_day, last)
    listings["first_review"] = np.where(got & ~reviewed, review_day, first)
    return listings


def _new_listings(
    rng: np.random.Generator,
    n: int,
    previous: pd.DataFrame,
    kept: pd.DataFrame,
    snapshot: datetime.date,
) -> pd.DataFrame:
    """Listings new to this delivery: new (higher) ids, some from hosts already listed.

    Their attributes, review history included, come from the same calibrated distribution as
    the first week's, so that with ~3 % weekly churn every week stays calibrated (brand-new
    listings alone would make the population ever younger and less reviewed).
    """
    listings = _draw_listings(rng, n, snapshot)
    ids = int(previous["id"].max()) + np.cumsum(rng.integers(100, 900, n))
    host_ids = int(previous["host_id"].max()) + np.cumsum(rng.integers(1_000, 20_000, n))
    host_names = _with_a_few_missing(rng, _pick(rng, HOST_FIRST_NAMES, n), MISSING_HOST_NAME_SHARE)
    existing = rng.random(n) < NEW_LISTING_EXISTING_HOST_SHARE
    if len(kept) > 0:  # a listing drawn at random: big hosts are picked more often, as in reality
        source = rng.integers(0, len(kept), n)
        host_ids = np.where(existing, kept["host_id"].to_numpy()[source], host_ids)
        host_names = np.where(existing, kept["host_name"].to_numpy()[source], host_names)
    listings.insert(0, "id", ids.astype(np.int64))
    listings.insert(2, "host_id", host_ids.astype(np.int64))
    listings.insert(3, "host_name", host_names)
    return listings


def _deliver(population: pd.DataFrame, rng: np.random.Generator, snapshot: datetime.date, n_bad: int) -> pd.DataFrame:
    """The population as a delivery: derived columns, a few broken rows, shuffled order."""
    frame = population.iloc[rng.permutation(len(population))].reset_index(drop=True)
    today = np.datetime64(snapshot, "D")
    first = frame["first_review"].to_numpy().astype("datetime64[D]")
    last = frame["last_review_date"].to_numpy().astype("datetime64[D]")
    # Inside Airbnb: reviews per month since the first review, counting at least one month.
    months = np.maximum(1.0, _days_since(today, first) / _DAYS_PER_MONTH)
    reviews = frame["number_of_reviews"].to_numpy()
    reviewed = reviews > 0
    rate = np.maximum(0.01, np.round(reviews / months, 2))
    frame["reviews_per_month"] = np.where(reviewed, rate, np.nan)
    frame["last_review"] = pd.Series(last.astype(str), dtype=object).where(reviewed, np.nan)
    frame["calculated_host_listings_count"] = frame.groupby("host_id")["id"].transform("size").astype(np.int64)
    _break_rows(frame, rng, n_bad)
    return frame.loc[:, list(REQUIRED_COLUMNS)]


def _break_rows(frame: pd.DataFrame, rng: np.random.Generator, n_bad: int) -> None:
    """Corrupt ``n_bad`` distinct rows in turn: price 0, price above 5,000, point outside NYC."""
    if n_bad == 0:
        return
    rows = rng.choice(len(frame), size=n_bad, replace=False)
    kind = np.arange(n_bad) % 3
    price = frame["price"].to_numpy().copy()
    price[rows[kind == 0]] = 0
    price[rows[kind == 1]] = rng.choice(BAD_HIGH_PRICES, size=int((kind == 1).sum()))
    frame["price"] = price
    outside = rows[kind == 2]
    points = np.array(OUTSIDE_POINTS)[rng.integers(0, len(OUTSIDE_POINTS), len(outside))]
    latitude = frame["latitude"].to_numpy().copy()
    longitude = frame["longitude"].to_numpy().copy()
    latitude[outside] = (points[:, 0] + rng.uniform(-0.01, 0.01, len(outside))).round(5)
    longitude[outside] = (points[:, 1] - rng.uniform(0.0, 0.01, len(outside))).round(5)
    frame["latitude"] = latitude
    frame["longitude"] = longitude
