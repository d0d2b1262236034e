"""The synthetic deliveries must look like real ones to the pipeline: shape, calibration, bad rows,
weekly continuity, the CSV format, determinism and a learnable price."""

import ast
import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from nyc_rental import synthetic
from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.core.rules import BOROUGHS, MAX_PRICE, MIN_PRICE, NYC_BOUNDING_BOX
from nyc_rental.synthetic import calibration, generator
from nyc_rental.synthetic.calibration import (
    AVAILABILITY_ZERO_SHARE,
    BOROUGH_BOXES,
    BOROUGH_SHARES,
    LANDMARKS,
    MEDIAN_PRICE,
    NEIGHBOURHOODS,
    ROOM_SHARES,
    ROOM_TYPES,
)
from nyc_rental.synthetic.generator import (
    default_bad_rows,
    delivery_file_name,
    generate_listings,
    generate_weeks,
    write_delivery,
)

ROWS = 20_000
SNAPSHOT = datetime.date(2019, 7, 8)


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return generate_listings(ROWS, seed=42, snapshot=SNAPSHOT)


@pytest.fixture(scope="module")
def weeks() -> list[tuple[datetime.date, pd.DataFrame]]:
    return generate_weeks(4, 5_000, first_week=datetime.date(2019, 7, 1), seed=7)


def inside_box(frame: pd.DataFrame) -> pd.Series:
    box = NYC_BOUNDING_BOX
    return frame["longitude"].between(box.min_longitude, box.max_longitude) & frame["latitude"].between(
        box.min_latitude, box.max_latitude
    )


def bad_mask(frame: pd.DataFrame) -> pd.Series:
    return (frame["price"] == 0) | (frame["price"] > 5000) | ~inside_box(frame)


def borough_kl_bits(p: pd.DataFrame, q: pd.DataFrame) -> float:
    """KL divergence (base 2) between two deliveries' borough distributions."""
    p_share = p["neighbourhood_group"].value_counts(normalize=True)
    q_share = q["neighbourhood_group"].value_counts(normalize=True).reindex(p_share.index)
    return float((p_share * np.log2(p_share / q_share)).sum())


# --- shape and determinism -------------------------------------------------------------------


def test_frame_has_the_sixteen_columns_in_order_and_the_requested_rows(listings):
    assert tuple(listings.columns) == tuple(REQUIRED_COLUMNS)
    assert len(listings) == ROWS
    for column in (
        "id",
        "host_id",
        "price",
        "minimum_nights",
        "number_of_reviews",
        "calculated_host_listings_count",
        "availability_365",
    ):
        assert pd.api.types.is_integer_dtype(listings[column]), column
    for column in ("latitude", "longitude", "reviews_per_month"):
        assert pd.api.types.is_float_dtype(listings[column]), column


def test_same_arguments_give_the_same_frame_and_another_seed_does_not(listings):
    pd.testing.assert_frame_equal(generate_listings(ROWS, seed=42, snapshot=SNAPSHOT), listings)
    other = generate_listings(ROWS, seed=43, snapshot=SNAPSHOT)
    assert not other.equals(listings)
    assert set(other["id"]) != set(listings["id"])


def test_same_arguments_give_identical_file_bytes(tmp_path):
    first = write_delivery(generate_listings(2_000, seed=5), tmp_path / "a" / "x.csv")
    second = write_delivery(generate_listings(2_000, seed=5), tmp_path / "b" / "x.csv")
    assert first.read_bytes() == second.read_bytes()


def test_ids_are_unique_integers_in_a_realistic_range(listings):
    assert listings["id"].is_unique
    assert listings["id"].min() > 0 and listings["id"].max() < 40_000_000


@pytest.mark.parametrize("module", [synthetic, generator, calibration], ids=lambda module: module.__name__)
def test_module_stays_free_of_dagster_and_mlflow(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"dagster", "mlflow"}


def test_importing_the_package_loads_neither_dagster_nor_mlflow():
    code = "import sys, nyc_rental.synthetic; print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'mlflow'}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        generate_listings(0)
    with pytest.raises(ValueError):
        generate_listings(10, bad_rows=11)
    with pytest.raises(ValueError):
        generate_listings(10, bad_rows=-1)


# --- calibration -----------------------------------------------------------------------------


def test_calibration_boroughs_are_exactly_the_rules_boroughs():
    tables = (
        BOROUGH_SHARES,
        ROOM_SHARES,
        MEDIAN_PRICE,
        BOROUGH_BOXES,
        NEIGHBOURHOODS,
        AVAILABILITY_ZERO_SHARE,
        LANDMARKS,
    )
    for table in tables:
        assert set(table) == set(BOROUGHS)


def test_borough_shares_match_the_calibration(listings):
    shares = listings["neighbourhood_group"].value_counts(normalize=True)
    assert set(shares.index) == set(BOROUGH_SHARES)
    for borough, expected in BOROUGH_SHARES.items():
        assert shares[borough] == pytest.approx(expected, abs=0.02), borough


def test_room_type_shares_match_the_calibration(listings):
    shares = listings["room_type"].value_counts(normalize=True)
    for position, room in enumerate(ROOM_TYPES):
        expected = sum(BOROUGH_SHARES[b] * ROOM_SHARES[b][position] for b in BOROUGH_SHARES)
        assert shares[room] == pytest.approx(expected, abs=0.02), room


def test_median_prices_are_ordered_like_the_real_data(listings):
    good = listings[~bad_mask(listings)]
    medians = good.groupby("room_type")["price"].median()
    assert 140 <= medians["Entire home/apt"] <= 190  # real: 160
    assert 60 <= medians["Private room"] <= 85  # real: 70
    assert medians["Shared room"] < medians["Private room"]
    by_borough = good[good["room_type"] == "Entire home/apt"].groupby("neighbourhood_group")["price"]
    assert by_borough.median().idxmax() == "Manhattan"


def test_good_rows_are_inside_nyc_and_their_borough(listings):
    good = listings[~bad_mask(listings)]
    assert inside_box(good).all()
    for borough, (lat_min, lat_max, lon_min, lon_max) in BOROUGH_BOXES.items():
        rows = good[good["neighbourhood_group"] == borough]
        assert rows["latitude"].between(lat_min, lat_max).all(), borough
        assert rows["longitude"].between(lon_min, lon_max).all(), borough


def test_cleaning_price_range_drops_a_realistic_share(listings):
    good = listings[~bad_mask(listings)]
    assert (good["price"] >= MIN_PRICE).all()
    dropped = 1 - listings["price"].between(MIN_PRICE, MAX_PRICE).mean()
    assert 0.03 <= dropped <= 0.08  # real: 5.0 %


def test_each_neighbourhood_belongs_to_one_borough(listings):
    assert (listings.groupby("neighbourhood")["neighbourhood_group"].nunique() == 1).all()
    assert listings.groupby("neighbourhood_group")["neighbourhood"].nunique()["Brooklyn"] >= 15


def test_reviews_fields_are_consistent_like_inside_airbnb(listings):
    no_reviews = listings["number_of_reviews"] == 0
    assert 0.15 <= no_reviews.mean() <= 0.26  # real: 20.6 %
    assert (listings["reviews_per_month"].isna() == no_reviews).all()
    assert (listings["last_review"].isna() == no_reviews).all()
    reviewed = listings.loc[~no_reviews]
    assert (reviewed["reviews_per_month"] > 0).all()
    assert reviewed["last_review"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    last = pd.to_datetime(reviewed["last_review"])
    assert (last <= pd.Timestamp(SNAPSHOT)).all()
    assert (last > pd.Timestamp(SNAPSHOT) - pd.Timedelta(days=365)).mean() > 0.6
    assert listings["number_of_reviews"].quantile(0.99) > 100  # heavy tail


def test_availability_and_minimum_nights_look_real(listings):
    assert 0.25 <= (listings["availability_365"] == 0).mean() <= 0.45  # real: 36 %
    assert listings["availability_365"].between(0, 365).all()
    assert listings["minimum_nights"].min() >= 1
    assert listings["minimum_nights"].median() in (2, 3)
    assert (listings["minimum_nights"] == 30).mean() > 0.04


def test_host_listing_counts_match_the_host_ids(listings):
    counts = listings.groupby("host_id")["id"].transform("size")
    assert (counts == listings["calculated_host_listings_count"]).all()
    assert (listings["calculated_host_listings_count"] == 1).mean() > 0.5
    assert listings["calculated_host_listings_count"].max() >= 10
    assert (listings.groupby("host_id")["host_name"].nunique(dropna=False) == 1).all()


def test_titles_and_host_names_are_realistic_with_a_few_missing(listings):
    assert 0 < listings["name"].isna().sum() < 50
    assert listings["host_name"].isna().sum() < 50
    titles = listings["name"].dropna().str.lower()
    assert titles.str.contains("private room").mean() > 0.03
    assert titles.str.contains("luxury").any() and titles.str.contains("studio").any()
    assert titles.str.len().between(3, 120).all()


# --- bad rows --------------------------------------------------------------------------------


def test_default_bad_rows_are_all_three_kinds(listings):
    assert bad_mask(listings).sum() == default_bad_rows(ROWS) == 4
    assert (listings["price"] == 0).any()
    assert (listings["price"] > 5000).any()
    assert (~inside_box(listings)).any()


def test_bad_rows_count_is_honoured_and_part_of_the_rows():
    frame = generate_listings(3_000, seed=1, bad_rows=9)
    assert len(frame) == 3_000
    assert (frame["price"] == 0).sum() == 3
    assert (frame["price"] > 5000).sum() == 3
    assert (~inside_box(frame)).sum() == 3
    clean = generate_listings(3_000, seed=1, bad_rows=0)
    assert not bad_mask(clean).any()


# --- weekly deliveries -----------------------------------------------------------------------


def test_weeks_are_delivered_on_wednesdays_with_the_requested_rows(weeks):
    dates = [date for date, _ in weeks]
    assert dates == [datetime.date(2019, 7, 3) + datetime.timedelta(days=7 * i) for i in range(4)]
    assert all(date.weekday() == 2 for date in dates)
    assert all(len(frame) == 5_000 for _, frame in weeks)
    assert all(bad_mask(frame).sum() == default_bad_rows(5_000) for _, frame in weeks)


def test_first_week_equals_a_single_delivery(weeks):
    date, frame = weeks[0]
    pd.testing.assert_frame_equal(frame, generate_listings(5_000, seed=7, snapshot=date))


def test_consecutive_weeks_share_most_listings_and_reviews_only_grow(weeks):
    for (_, before), (_, after) in zip(weeks, weeks[1:]):
        shared = set(before["id"]) & set(after["id"])
        assert 0.93 <= len(shared) / len(after) < 1.0  # ~3 % churn
        assert after["id"].is_unique
        joined = before.set_index("id").join(after.set_index("id"), rsuffix="_after", how="inner")
        assert (joined["number_of_reviews_after"] >= joined["number_of_reviews"]).all()
        assert (joined["number_of_reviews_after"] > joined["number_of_reviews"]).any()
        both = joined.dropna(subset=["last_review"])
        assert (both["last_review_after"] >= both["last_review"]).all()
        assert (joined["room_type_after"] == joined["room_type"]).all()
        assert (joined["name_after"].fillna("") == joined["name"].fillna("")).all()
        assert 0 < (joined["price_after"] != joined["price"]).mean() < 0.15
        counts = after.groupby("host_id")["id"].transform("size")
        assert (counts == after["calculated_host_listings_count"]).all()


def test_borough_shares_are_stable_week_to_week(weeks):
    for (_, before), (_, after) in zip(weeks, weeks[1:]):
        assert borough_kl_bits(after, before) < 0.05


def test_weeks_are_deterministic():
    first = generate_weeks(2, 1_000, seed=3)
    second = generate_weeks(2, 1_000, seed=3)
    for (date_a, frame_a), (date_b, frame_b) in zip(first, second):
        assert date_a == date_b
        pd.testing.assert_frame_equal(frame_a, frame_b)


# --- the CSV file ----------------------------------------------------------------------------


def test_delivery_file_name():
    assert delivery_file_name(datetime.date(2019, 7, 3)) == "listings_2019-07-03.csv"


def test_write_delivery_round_trips_atomically_with_the_exact_header(tmp_path, listings):
    path = tmp_path / "incoming" / "nested" / delivery_file_name(datetime.date(2019, 7, 3))
    assert write_delivery(listings, path) == path
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(REQUIRED_COLUMNS)
    pd.testing.assert_frame_equal(pd.read_csv(path), listings)


def test_written_values_look_like_inside_airbnb(tmp_path):
    frame = generate_listings(500, seed=11)
    lines = write_delivery(frame, tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()
    unreviewed = frame.index[frame["number_of_reviews"] == 0][0]
    fields = lines[unreviewed + 1].split(",")
    assert fields[-4:-2] == ["", ""]  # last_review and reviews_per_month as empty fields
    raw = pd.read_csv(tmp_path / "d.csv", dtype=str, keep_default_na=False)
    assert raw["latitude"].str.fullmatch(r"-?\d+\.\d{1,5}").all()
    assert raw["price"].str.fullmatch(r"\d+").all()
    assert raw["reviews_per_month"].str.fullmatch(r"(\d+\.\d{1,2}|\d+)?").all()


def test_write_delivery_replaces_an_existing_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("old", encoding="utf-8")
    write_delivery(generate_listings(50, seed=2), path)
    assert path.read_text(encoding="utf-8").startswith("id,name,")
    assert not (tmp_path / ".d.csv.tmp").exists()


# --- learnability ----------------------------------------------------------------------------


def test_a_small_model_learns_the_price(listings):
    clean = listings[listings["price"].between(MIN_PRICE, MAX_PRICE) & inside_box(listings)]
    features = pd.get_dummies(clean[["room_type", "neighbourhood_group"]]).astype(float)
    numeric = [
        "latitude",
        "longitude",
        "minimum_nights",
        "number_of_reviews",
        "reviews_per_month",
        "calculated_host_listings_count",
        "availability_365",
    ]
    features[numeric] = clean[numeric].fillna(0)
    x_train, x_test, y_train, y_test = train_test_split(features, clean["price"], test_size=0.2, random_state=42)
    with threadpool_limits(limits=1):  # OpenMP threads crawl when another process shares the cores
        model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(x_train, y_train)
    assert r2_score(y_test, model.predict(x_test)) > 0.3  # real data: 0.56, synthetic: ~0.5
