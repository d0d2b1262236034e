"""The demo's synthetic deliveries: code in `generator`, calibration tables in `calibration`, apart from core."""

from nyc_rental.synthetic.generator import (
    default_bad_rows,
    delivery_file_name,
    generate_listings,
    generate_portfolio,
    generate_weeks,
    rows_before_partial_export,
    without_most_of_manhattan,
    write_delivery,
)

__all__ = [
    "default_bad_rows",
    "delivery_file_name",
    "generate_listings",
    "generate_portfolio",
    "generate_weeks",
    "rows_before_partial_export",
    "without_most_of_manhattan",
    "write_delivery",
]
