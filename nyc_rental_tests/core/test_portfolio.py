"""The company's portfolio file: read whole or refused naming the column and the line; flags against a range."""

import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.portfolio import PortfolioError, flags, gap_percent, read_portfolio
from nyc_rental.synthetic import generate_portfolio, write_delivery


@pytest.fixture
def portfolio(tmp_path):
    return write_delivery(generate_portfolio(20, seed=3), tmp_path / "portfolio.csv")


def test_a_synthetic_portfolio_reads_whole_with_its_asking_prices(portfolio):
    frame = read_portfolio(portfolio)
    assert len(frame) == 20 and frame.id.is_unique and (frame.price > 0).all()
    assert frame.latitude.dtype == float and list(frame.source_line) == list(range(2, 22))


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("price", "cheap", "column price has values that are not valid: line 4 ('cheap')"),
        ("price", "0", "column price (the asking price) must be above 0: line 4 ('0')"),
        ("latitude", "", "column latitude is empty on line 4"),
        ("minimum_nights", "2.5", "column minimum_nights has values that are not valid: line 4 ('2.5')"),
        ("id", "77", "column id repeats a property: line 4 ('77'), line 5 ('77')"),
    ],
)
def test_an_unusable_value_is_refused_naming_the_file_column_and_line(portfolio, column, value, said):
    rows = pd.read_csv(portfolio, dtype=str, keep_default_na=False)
    rows.loc[[2, 3] if column == "id" else [2], column] = value  # lines 4 and 5 of the file
    rows.to_csv(portfolio, index=False)
    with pytest.raises(PortfolioError) as refused:
        read_portfolio(portfolio)
    assert str(refused.value) == f"portfolio.csv: {said}"


def test_a_portfolio_without_a_required_column_is_refused_naming_it(portfolio):
    frame = generate_portfolio(5, seed=3).drop(columns=["room_type"])
    write_delivery(frame, portfolio)
    with pytest.raises(PortfolioError, match="portfolio portfolio.csv: required column.s. room_type missing"):
        read_portfolio(portfolio)


def test_an_asking_price_is_under_within_or_over_the_range_its_ends_within():
    asking = [50, 80, 100, 120, 300]
    assert list(flags(asking, [80] * 5, [120] * 5)) == ["under", "within", "within", "within", "over"]
    np.testing.assert_allclose(gap_percent([200, 50], [100, 100]), [100.0, -50.0])
