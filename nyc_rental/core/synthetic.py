"""Deterministic synthetic deliveries of New York Airbnb listings (Inside Airbnb summary format).

The real listings may not be copied into the repository, so this module is the project's own
default and demo data: it produces frames (and CSV files) that look like the weekly deliveries the
pipeline ingests, realistic enough that the cleaning, validation, drift checks and the price model
behave on them roughly as they do on the real data.

What is calibrated on what
--------------------------
Every constant below was derived from aggregate statistics of the July 2019 Inside Airbnb New York
City snapshot (48,895 listings; Inside Airbnb, insideairbnb.com, CC BY 4.0). Only aggregates are
embedded, never rows:

* borough shares and the room-type mix per borough;
* per borough the most common neighbourhoods (names, shares, median coordinates, coordinate spread,
  median price relative to the borough × room type median) and each borough's coordinate range;
* median nightly price per borough × room type; the spread and long right tail of the price around
  it (about 5 % of listings above 350; the real data's few zero prices and prices above 5,000 are
  reproduced by the deliberately broken "bad rows");
* how the price moves with minimum nights, availability and title words ("studio", "2BR",
  "luxury", "penthouse" ... up or down);
* quantiles of minimum nights (per room type), number of reviews, months since the first review,
  days since the last review (with their rank correlations), availability, listing and host ids,
  and the distribution of listings per host.

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

from nyc_rental.core.delivery import REQUIRED_COLUMNS

# ---------------------------------------------------------------------------------------------
# Calibration constants. Derived from aggregate statistics of the July 2019 Inside Airbnb NYC
# snapshot (CC BY 4.0); no row of the data is reproduced here.
# ---------------------------------------------------------------------------------------------

#: Bounding box every valid New York listing lies in (the pipeline's cleaning rule).
NYC_BOUNDS = {"lon_min": -74.25, "lon_max": -73.50, "lat_min": 40.5, "lat_max": 41.2}

#: Share of listings per borough (``neighbourhood_group``).
BOROUGH_SHARES: dict[str, float] = {
    "Manhattan": 0.4430,
    "Brooklyn": 0.4112,
    "Queens": 0.1159,
    "Bronx": 0.0223,
    "Staten Island": 0.0076,
}
BOROUGHS: tuple[str, ...] = tuple(BOROUGH_SHARES)

ROOM_TYPES: tuple[str, ...] = ("Entire home/apt", "Private room", "Shared room")

#: Room-type mix per borough, in ROOM_TYPES order.
ROOM_SHARES: dict[str, tuple[float, float, float]] = {
    "Manhattan": (0.609, 0.369, 0.022),
    "Brooklyn": (0.476, 0.504, 0.020),
    "Queens": (0.370, 0.595, 0.035),
    "Bronx": (0.347, 0.598, 0.055),
    "Staten Island": (0.472, 0.504, 0.024),
}

#: Median nightly price (USD) per borough, in ROOM_TYPES order.
MEDIAN_PRICE: dict[str, tuple[float, float, float]] = {
    "Manhattan": (191.0, 90.0, 69.0),
    "Brooklyn": (145.0, 65.0, 36.0),
    "Queens": (120.0, 60.0, 37.0),
    "Bronx": (100.0, 53.5, 40.0),
    "Staten Island": (100.0, 50.0, 30.0),
}

#: Coordinate range of each borough's listings: (lat_min, lat_max, lon_min, lon_max).
BOROUGH_BOXES: dict[str, tuple[float, float, float, float]] = {
    "Manhattan": (40.7023, 40.8766, -74.0185, -73.9086),
    "Brooklyn": (40.5712, 40.7389, -74.0394, -73.8568),
    "Queens": (40.5655, 40.7972, -73.9593, -73.7130),
    "Bronx": (40.8001, 40.9131, -73.9319, -73.7816),
    "Staten Island": (40.5064, 40.6478, -74.2444, -74.0609),
}

#: Most common neighbourhoods per borough: (name, share of the borough's listings, median
#: latitude, median longitude, latitude sd, longitude sd, median price relative to the borough x
#: room type median). Shares are renormalised within the borough when drawing.
NEIGHBOURHOODS: dict[str, tuple[tuple[str, float, float, float, float, float, float], ...]] = {
    "Manhattan": (  # top 20 cover 94 % of the borough
        ("Harlem", 0.123, 40.8167, -73.9479, 0.0090, 0.0055, 0.78),
        ("Upper West Side", 0.091, 40.7886, -73.9737, 0.0098, 0.0080, 1.00),
        ("Hell's Kitchen", 0.090, 40.7624, -73.9912, 0.0038, 0.0040, 1.12),
        ("East Village", 0.086, 40.7269, -73.9839, 0.0030, 0.0038, 1.01),
        ("Upper East Side", 0.083, 40.7729, -73.9540, 0.0066, 0.0056, 0.94),
        ("Midtown", 0.071, 40.7541, -73.9742, 0.0066, 0.0080, 1.12),
        ("East Harlem", 0.052, 40.7958, -73.9420, 0.0065, 0.0050, 0.84),
        ("Chelsea", 0.051, 40.7444, -73.9978, 0.0041, 0.0039, 1.12),
        ("Lower East Side", 0.042, 40.7192, -73.9881, 0.0032, 0.0031, 1.01),
        ("Washington Heights", 0.042, 40.8444, -73.9391, 0.0077, 0.0048, 0.67),
        ("West Village", 0.035, 40.7342, -74.0039, 0.0028, 0.0026, 1.12),
        ("Financial District", 0.034, 40.7069, -74.0091, 0.0020, 0.0032, 1.17),
        ("Murray Hill", 0.022, 40.7478, -73.9759, 0.0020, 0.0028, 1.11),
        ("Kips Bay", 0.022, 40.7418, -73.9797, 0.0022, 0.0023, 1.01),
        ("Greenwich Village", 0.018, 40.7299, -73.9993, 0.0026, 0.0026, 1.12),
        ("Chinatown", 0.017, 40.7157, -73.9931, 0.0020, 0.0030, 0.98),
        ("SoHo", 0.017, 40.7249, -74.0020, 0.0023, 0.0028, 1.12),
        ("Morningside Heights", 0.016, 40.8074, -73.9614, 0.0040, 0.0030, 0.79),
        ("Gramercy", 0.016, 40.7357, -73.9842, 0.0020, 0.0026, 1.06),
        ("Theater District", 0.013, 40.7600, -73.9857, 0.0022, 0.0020, 1.13),
    ),
    "Brooklyn": (  # top 20 cover 91 % of the borough
        ("Williamsburg", 0.195, 40.7126, -73.9529, 0.0044, 0.0092, 1.17),
        ("Bedford-Stuyvesant", 0.185, 40.6868, -73.9415, 0.0051, 0.0131, 0.93),
        ("Bushwick", 0.123, 40.6979, -73.9208, 0.0061, 0.0085, 0.86),
        ("Crown Heights", 0.078, 40.6730, -73.9492, 0.0038, 0.0119, 0.92),
        ("Greenpoint", 0.055, 40.7271, -73.9522, 0.0049, 0.0059, 1.09),
        ("Flatbush", 0.031, 40.6457, -73.9611, 0.0067, 0.0047, 0.79),
        ("Clinton Hill", 0.028, 40.6872, -73.9646, 0.0043, 0.0028, 1.07),
        ("Prospect-Lefferts Gardens", 0.027, 40.6595, -73.9573, 0.0025, 0.0062, 0.86),
        ("Park Slope", 0.025, 40.6741, -73.9787, 0.0044, 0.0035, 1.14),
        ("East Flatbush", 0.025, 40.6499, -73.9425, 0.0078, 0.0101, 0.82),
        ("Fort Greene", 0.024, 40.6891, -73.9737, 0.0038, 0.0031, 1.10),
        ("Sunset Park", 0.019, 40.6514, -74.0026, 0.0087, 0.0095, 0.86),
        ("Prospect Heights", 0.018, 40.6778, -73.9674, 0.0026, 0.0032, 1.09),
        ("South Slope", 0.014, 40.6649, -73.9858, 0.0024, 0.0033, 1.09),
        ("Gowanus", 0.012, 40.6778, -73.9892, 0.0055, 0.0041, 1.19),
        ("Carroll Gardens", 0.012, 40.6812, -73.9960, 0.0029, 0.0032, 1.16),
        ("East New York", 0.011, 40.6690, -73.8869, 0.0055, 0.0092, 0.78),
        ("Boerum Hill", 0.009, 40.6861, -73.9857, 0.0020, 0.0036, 1.14),
        ("Kensington", 0.009, 40.6427, -73.9749, 0.0043, 0.0038, 0.78),
        ("Sheepshead Bay", 0.008, 40.5967, -73.9539, 0.0088, 0.0077, 0.86),
    ),
    "Queens": (  # top 20 cover 86 % of the borough
        ("Astoria", 0.159, 40.7645, -73.9202, 0.0050, 0.0068, 1.04),
        ("Long Island City", 0.095, 40.7526, -73.9376, 0.0065, 0.0094, 1.24),
        ("Flushing", 0.075, 40.7561, -73.8218, 0.0096, 0.0110, 0.96),
        ("Ridgewood", 0.075, 40.7044, -73.9065, 0.0039, 0.0060, 0.85),
        ("Sunnyside", 0.064, 40.7427, -73.9206, 0.0039, 0.0045, 0.99),
        ("Ditmars Steinway", 0.055, 40.7749, -73.9102, 0.0033, 0.0061, 1.02),
        ("Elmhurst", 0.042, 40.7404, -73.8778, 0.0051, 0.0055, 0.86),
        ("Woodside", 0.041, 40.7446, -73.9030, 0.0040, 0.0055, 0.92),
        ("Jamaica", 0.041, 40.6846, -73.7854, 0.0124, 0.0137, 1.02),
        ("Jackson Heights", 0.033, 40.7516, -73.8829, 0.0024, 0.0099, 0.93),
        ("East Elmhurst", 0.033, 40.7627, -73.8771, 0.0042, 0.0086, 0.92),
        ("Forest Hills", 0.025, 40.7201, -73.8493, 0.0078, 0.0069, 1.00),
        ("Maspeth", 0.019, 40.7312, -73.8997, 0.0082, 0.0063, 0.89),
        ("Rego Park", 0.019, 40.7272, -73.8606, 0.0044, 0.0044, 0.93),
        ("Richmond Hill", 0.017, 40.6945, -73.8289, 0.0059, 0.0079, 0.98),
        ("Woodhaven", 0.016, 40.6915, -73.8598, 0.0036, 0.0071, 0.85),
        ("Springfield Gardens", 0.015, 40.6651, -73.7635, 0.0087, 0.0082, 1.10),
        ("Arverne", 0.014, 40.5910, -73.7950, 0.0034, 0.0041, 1.25),
        ("St. Albans", 0.013, 40.6953, -73.7624, 0.0068, 0.0089, 0.93),
        ("Corona", 0.011, 40.7418, -73.8631, 0.0046, 0.0051, 0.78),
    ),
    "Bronx": (  # top 15 cover 61 % of the borough
        ("Kingsbridge", 0.064, 40.8790, -73.9016, 0.0073, 0.0040, 1.10),
        ("Fordham", 0.058, 40.8635, -73.8934, 0.0058, 0.0051, 1.04),
        ("Longwood", 0.057, 40.8216, -73.9030, 0.0041, 0.0065, 1.13),
        ("Mott Haven", 0.055, 40.8109, -73.9204, 0.0021, 0.0060, 1.13),
        ("Concourse", 0.046, 40.8273, -73.9254, 0.0056, 0.0035, 0.97),
        ("Wakefield", 0.046, 40.8938, -73.8538, 0.0051, 0.0065, 0.94),
        ("Port Morris", 0.042, 40.8082, -73.9300, 0.0031, 0.0065, 1.09),
        ("Allerton", 0.038, 40.8669, -73.8600, 0.0044, 0.0069, 0.92),
        ("Williamsbridge", 0.037, 40.8788, -73.8611, 0.0033, 0.0058, 0.85),
        ("Parkchester", 0.036, 40.8364, -73.8595, 0.0032, 0.0083, 0.90),
        ("Concourse Village", 0.029, 40.8306, -73.9184, 0.0028, 0.0034, 1.06),
        ("Norwood", 0.028, 40.8749, -73.8797, 0.0033, 0.0045, 0.96),
        ("Pelham Gardens", 0.026, 40.8637, -73.8429, 0.0028, 0.0042, 0.79),
        ("Claremont Village", 0.026, 40.8391, -73.9105, 0.0037, 0.0032, 1.04),
        ("Highbridge", 0.025, 40.8345, -73.9278, 0.0041, 0.0028, 1.11),
    ),
    "Staten Island": (  # top 6 cover 49 % of the borough
        ("St. George", 0.129, 40.6442, -74.0816, 0.0029, 0.0024, 1.30),
        ("Tompkinsville", 0.113, 40.6338, -74.0857, 0.0033, 0.0051, 1.00),
        ("Stapleton", 0.073, 40.6344, -74.0779, 0.0038, 0.0024, 1.07),
        ("Concord", 0.070, 40.6022, -74.0869, 0.0037, 0.0054, 0.70),
        ("Arrochar", 0.056, 40.5937, -74.0721, 0.0030, 0.0076, 1.00),
        ("Randall Manor", 0.051, 40.6312, -74.1251, 0.0047, 0.0100, 1.04),
    ),
}

#: Share of listings with availability_365 == 0 per borough (calendar closed or blocked).
AVAILABILITY_ZERO_SHARE: dict[str, float] = {
    "Manhattan": 0.374,
    "Brooklyn": 0.390,
    "Queens": 0.241,
    "Bronx": 0.162,
    "Staten Island": 0.113,
}
AVAILABILITY_FULL_SHARE = 0.026  # listings open all 365 days
ZERO_REVIEWS_SHARE = 0.206

#: Minimum nights: probabilities of the common values per room type; the remainder is spread over
#: the rarer short values (8, 9, 12, ...) and the long-stay tail (45, 60, 90, ... 365).
MIN_NIGHTS_VALUES = (1, 2, 3, 4, 5, 6, 7, 10, 14, 15, 20, 21, 28, 29, 30, 31)
MIN_NIGHTS_PROBS: dict[str, tuple[float, ...]] = {
    "Entire home/apt": (
        0.1664,
        0.2454,
        0.1861,
        0.0835,
        0.0717,
        0.0187,
        0.0440,
        0.0099,
        0.0107,
        0.0045,
        0.0041,
        0.0021,
        0.0046,
        0.0119,
        0.1043,
        0.0061,
    ),
    "Private room": (
        0.3533,
        0.2359,
        0.1427,
        0.0512,
        0.0525,
        0.0122,
        0.0408,
        0.0098,
        0.0120,
        0.0069,
        0.0052,
        0.0036,
        0.0039,
        0.0017,
        0.0456,
        0.0019,
    ),
    "Shared room": (
        0.5224,
        0.1664,
        0.0733,
        0.0319,
        0.0336,
        0.0034,
        0.0241,
        0.0121,
        0.0207,
        0.0086,
        0.0017,
        0.0,
        0.0,
        0.0,
        0.0776,
        0.0034,
    ),
}
MIN_NIGHTS_RARE_SHORT = (8, 9, 11, 12, 13, 16, 18, 25)
MIN_NIGHTS_LONG_TAIL = (
    (35, 0.03),
    (45, 0.06),
    (60, 0.19),
    (90, 0.19),
    (120, 0.05),
    (180, 0.08),
    (365, 0.05),
)  # (nights, relative weight)
MIN_NIGHTS_LONG_SHARE = 0.012  # above 31 nights

#: Quantile tables at QUANTILE_LEVELS. Variables drawn from them are linked by a Gaussian copula,
#: so e.g. listings reviewed recently also have more reviews, as in the real data.
QUANTILE_LEVELS = (
    0.0,
    0.05,
    0.10,
    0.15,
    0.20,
    0.25,
    0.30,
    0.35,
    0.40,
    0.45,
    0.50,
    0.55,
    0.60,
    0.65,
    0.70,
    0.75,
    0.80,
    0.85,
    0.90,
    0.95,
    0.99,
    1.0,
)
REVIEWS_QUANTILES = (
    1,
    1,
    1,
    2,
    2,
    3,
    4,
    5,
    6,
    8,
    9,
    12,
    15,
    20,
    25,
    33,
    44,
    60,
    84,
    129,
    227,
    629,
)  # listings with at least one review
MONTHS_ACTIVE_QUANTILES = (
    1.0,
    1.3,
    2.7,
    4.8,
    7.1,
    9.1,
    11.2,
    13.7,
    16.8,
    20.0,
    22.7,
    25.4,
    30.5,
    33.3,
    37.1,
    40.9,
    46.6,
    50.0,
    57.6,
    70.8,
    95.7,
    128.6,
)  # months since the first review
DAYS_SINCE_LAST_REVIEW_QUANTILES = (
    0,
    3,
    7,
    8,
    13,
    15,
    18,
    22,
    29,
    38,
    50,
    72,
    130,
    189,
    272,
    365,
    552,
    708,
    995,
    1277,
    1549,
    3024,
)
AVAILABILITY_QUANTILES = (
    1,
    5,
    13,
    23,
    36,
    52,
    68,
    84,
    96,
    129,
    157,
    179,
    201,
    236,
    263,
    287,
    311,
    329,
    342,
    357,
    364,
    364,
)  # listings open 1..364 days
LISTING_ID_QUANTILES = (
    2539,
    1222383,
    3496066,
    5406169,
    7515052,
    9471945,
    11587998,
    13563959,
    15642680,
    17698429,
    19677284,
    21312156,
    22503100,
    24783194,
    27140740,
    29152178,
    30530272,
    32306597,
    33990940,
    35259101,
    36238879,
    36487245,
)
HOST_ID_QUANTILES = (
    2438,
    815564,
    2027013,
    3552711,
    5434441,
    7822033,
    10721176,
    15020752,
    19544121,
    24261737,
    30793816,
    39393326,
    48685550,
    61391963,
    80824522,
    107434423,
    137129564,
    169534709,
    212811431,
    241764600,
    267711765,
    274321313,
)
#: Correlations of the copula's normals for number of reviews, months since the first review and
#: days since the last review: the real Spearman correlations (0.36, -0.50, 0.37) converted with
#: 2 sin(pi * rho / 6).
REVIEW_COPULA = np.array([[1.0, 0.375, -0.518], [0.375, 1.0, 0.385], [-0.518, 0.385, 1.0]])
MAX_REVIEWS_PER_MONTH = (3.0, 10.0)  # per-listing cap drawn in this range (real 99th pct: 7.2)
ID_HOST_CORRELATION = 0.56  # older hosts list older listings

#: Listings per host, host-weighted: P(size) for sizes 1..5, then ranges drawn log-uniformly.
HOST_SIZE_PROBS = (0.8624, 0.0889, 0.0254, 0.0096, 0.0045)
HOST_SIZE_RANGES = (
    ((6, 10), 0.0067),
    ((11, 20), 0.0015),
    ((21, 50), 0.00072),
    ((51, 100), 0.00019),
    ((101, 330), 0.00011),
)

# Price effects (natural log of the multiplier), measured as median log-price residuals after
# borough x room type and neighbourhood, centred so their average over the real mix is zero.
# Long minimum stays are monthly rentals (cheaper per night); full calendars are pricier.
MIN_NIGHTS_EFFECT = ((1, 0.04), (4, -0.01), (7, -0.09), (14, -0.16), (30, -0.11))  # (from, effect)
AVAILABILITY_EFFECT = ((0, -0.065), (1, -0.045), (31, 0.045), (365, 0.205))  # (from, effect)
#: Entire homes: studio, 1, 2, 3, 4 bedrooms (share, effect); private rooms: small, regular, large;
#: quality tier of any listing: budget, standard, luxury. All are spelled out in the title.
BEDROOMS = ((0.22, -0.20), (0.45, 0.0), (0.21, 0.20), (0.09, 0.38), (0.03, 0.55))
ROOM_SIZES = ((0.20, -0.15), (0.62, 0.0), (0.18, 0.15))
TIERS = ((0.08, -0.25), (0.84, 0.0), (0.08, 0.30))
#: Price noise (log scale), per room type: a normal body plus, for a few listings above the
#: median, an exponential right tail (premium and mis-priced listings). Tuned so the quantiles of
#: price / (borough x room type median) match the real ones, incl. ~5 % of prices above 350.
PRICE_NOISE_SD = (0.25, 0.25, 0.32)
PRICE_TAIL_SHARE = 0.16
PRICE_TAIL_SCALE = 0.55
MAX_NATURAL_PRICE = 5000  # the real data's few prices above this are treated as bad rows here
BAD_HIGH_PRICES = (5250, 6500, 7500, 9999, 10000)  # typical of the real prices above 5,000

MISSING_NAME_SHARE = 0.0003
MISSING_HOST_NAME_SHARE = 0.0004

# Week-to-week evolution. Not measured (the samples are a single snapshot): chosen to be plausible
# and to keep every week's distributions at the calibrated values.
WEEKLY_CHURN = 0.03
WEEKLY_PRICE_CHANGE_SHARE = 0.05
WEEKLY_PRICE_CHANGE_SD = 0.08  # log scale
NEW_LISTING_EXISTING_HOST_SHARE = 0.32  # keeps the single-listing host share stable
UNREVIEWED_REVIEW_PACE = 0.005  # per month; keeps the zero-review share near 20 % over weeks

#: Points just outside the NYC box (New Jersey, west of -74.25) used for bad rows.
OUTSIDE_POINTS = (
    (40.5068, -74.2654),
    (40.7968, -74.4815),
    (40.6337, -74.4074),
    (40.9168, -74.3710),
    (40.3573, -74.6672),
)

# --- Words for titles and host names ---------------------------------------------------------

HOST_FIRST_NAMES = (
    "Michael",
    "David",
    "John",
    "Alex",
    "Sarah",
    "Daniel",
    "Jessica",
    "Maria",
    "Mike",
    "Andrew",
    "Anna",
    "Laura",
    "Chris",
    "Melissa",
    "Emily",
    "Jennifer",
    "James",
    "Rachel",
    "Jonathan",
    "Amy",
    "Michelle",
    "Brian",
    "Jason",
    "Mark",
    "Adam",
    "Ben",
    "Anthony",
    "Eric",
    "Andrea",
    "Nina",
    "Kevin",
    "Peter",
    "Joseph",
    "Lauren",
    "Nick",
    "Stephanie",
    "Ken",
    "Sam",
    "Lisa",
    "Robert",
    "Elizabeth",
    "Nicole",
    "Paul",
    "Ryan",
    "Matt",
    "Matthew",
    "Max",
    "Karen",
    "Sara",
    "Joe",
    "Ashley",
    "Christopher",
    "Christina",
    "Julia",
    "Alexandra",
    "William",
    "Carlos",
    "Ana",
    "Jose",
    "Yuki",
    "Wei",
    "Fatima",
    "Olga",
    "Kwame",
    "Priya",
    "Luis",
    "Sophie",
    "Ahmed",
)
CORPORATE_HOST_NAMES = ("Harbor Stays", "Midtown Suites", "Corporate Housing", "Stay NYC")
CORPORATE_HOST_MIN_LISTINGS = 50

ADJECTIVES = (
    "Sunny",
    "Spacious",
    "Bright",
    "Charming",
    "Beautiful",
    "Cozy",
    "Modern",
    "Lovely",
    "Quiet",
    "Clean",
    "Large",
    "Renovated",
    "Stylish",
    "Gorgeous",
    "Amazing",
    "Cozy",
    "Comfortable",
    "Huge",
    "Great",
    "Perfect",
    "Cute",
    "Sunny",
)
LUXURY_WORDS = ("Luxury", "Luxury", "Luxurious", "Elegant", "Stunning", "Designer")
BUDGET_WORDS = ("Cozy", "Cozy", "Small", "Tiny", "Budget", "Affordable", "Cheap", "Simple")
ENTIRE_NOUNS = (
    ("Studio", "Studio Apartment", "Studio Apt", "Studio"),
    ("1BR", "1 Bedroom", "One Bedroom Apt", "1BR Apartment", "Apartment", "Apt", "1 Bedroom Apt"),
    ("2BR", "2 Bedroom", "Two Bedroom Apt", "2BR Apartment", "2 Bedroom Apartment"),
    ("3BR", "3 Bedroom", "Three Bedroom Apt", "3BR Apartment", "3 Bedroom Home"),
    ("4BR House", "4 Bedroom Home", "Family Home", "4BR Townhouse"),
)
LUXURY_NOUNS = ("Penthouse", "Loft", "Duplex", "Townhouse", "Brownstone Duplex", "Penthouse Loft")
PRIVATE_NOUNS = (
    ("Small Room", "Small Private Room", "Tiny Room", "Single Room", "Small Bedroom"),
    # Many real private-room titles describe the home rather than the room.
    (
        "Private Room",
        "Room",
        "Bedroom",
        "Private Bedroom",
        "room",
        "private room",
        "Private Room",
        "Apartment",
        "Apt",
        "Home",
        "Space",
        "Loft",
    ),
    ("Master Bedroom", "Large Room", "Huge Room", "Private Suite", "Large Bedroom"),
)
SHARED_NOUNS = (
    "Shared Room",
    "Bed in Shared Room",
    "Bunk Bed in Hostel",
    "Couch in Living Room",
    "Shared Apartment",
    "Female Only Shared Room",
    "Bed in Male Dorm",
    "Shared room",
)
LANDMARKS: dict[str, tuple[str, ...]] = {
    "Manhattan": ("Central Park", "Times Square", "Columbia U", "the High Line", "Union Square", "Empire State"),
    "Brooklyn": ("Prospect Park", "McCarren Park", "Barclays Center", "the L train", "Pratt"),
    "Queens": ("JFK", "LGA", "Astoria Park", "the 7 train", "Citi Field"),
    "Bronx": ("Yankee Stadium", "the Bronx Zoo", "Fordham U"),
    "Staten Island": ("the Ferry", "Snug Harbor"),
}
LUXURY_EXTRAS = ("w/ Terrace", "with Doorman & Gym", "w/ Rooftop", "with Balcony", "w/ Skyline View", "with Pool")
PLAIN_EXTRAS = (
    "w/ Backyard",
    "with Washer/Dryer",
    "w/ Private Bath",
    "near Subway",
    "for Families",
    "- Great Location",
    "close to the Subway",
    "with Garden",
    "for Long Stays",
    "w/ Balcony",
)
#: How the location is phrased (see _title) and how often, roughly as in real titles.
LOCATION_PHRASE_SHARES = (0.20, 0.06, 0.05, 0.04, 0.03, 0.03, 0.04, 0.05, 0.03, 0.10, 0.37)

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


#: Share of Manhattan listings a partial export loses (`without_most_of_manhattan`).
PARTIAL_EXPORT_LOSS = 0.9


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
    borough = rng.choice(len(BOROUGHS), size=n, p=_normalised(BOROUGH_SHARES.values()))
    room = _choice_per_group(rng, borough, np.array([ROOM_SHARES[b] for b in BOROUGHS]))
    hood_names, hood_index, hood_table = _neighbourhood_table()
    hood = hood_index[borough, _choice_per_group(rng, borough, hood_table)]
    latitude, longitude = _draw_coordinates(rng, borough, hood)
    bedrooms, room_size, tier = _draw_latent_quality(rng, n)
    minimum_nights = _draw_minimum_nights(rng, room)
    reviews, first_review, last_review, review_pace = _draw_reviews(rng, n, snapshot)
    availability = _draw_availability(rng, borough, reviews)
    price = _draw_price(rng, borough, room, hood, bedrooms, room_size, tier, minimum_nights, availability)
    boroughs = np.array(BOROUGHS, dtype=object)[borough]
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
    index = np.zeros((len(BOROUGHS), width), dtype=int)
    shares = np.zeros((len(BOROUGHS), width))
    for b, borough in enumerate(BOROUGHS):
        for slot, hood in enumerate(NEIGHBOURHOODS[borough]):
            index[b, slot] = len(names)
            shares[b, slot] = hood[1]
            names.append(hood[0])
    return np.array(names, dtype=object), index, shares


def _hood_column(position: int) -> np.ndarray:
    """One numeric field of NEIGHBOURHOODS, flattened in _neighbourhood_table order."""
    return np.array([hood[position] for b in BOROUGHS for hood in NEIGHBOURHOODS[b]])


def _draw_coordinates(rng: np.random.Generator, borough: np.ndarray, hood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points around the neighbourhood centre, kept inside the borough's range and the NYC box."""
    n = len(hood)
    boxes = np.array([BOROUGH_BOXES[b] for b in BOROUGHS])[borough]
    spread = np.clip(rng.standard_normal((2, n)), -2.5, 2.5)
    latitude = _hood_column(2)[hood] + _hood_column(4)[hood] * spread[0]
    longitude = _hood_column(3)[hood] + _hood_column(5)[hood] * spread[1]
    latitude = np.clip(
        latitude, np.maximum(boxes[:, 0], NYC_BOUNDS["lat_min"]), np.minimum(boxes[:, 1], NYC_BOUNDS["lat_max"])
    )
    longitude = np.clip(
        longitude, np.maximum(boxes[:, 2], NYC_BOUNDS["lon_min"]), np.minimum(boxes[:, 3], NYC_BOUNDS["lon_max"])
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
    zero_share = np.array([AVAILABILITY_ZERO_SHARE[b] for b in BOROUGHS])[borough]
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
    log_price = np.log(np.array([MEDIAN_PRICE[b] for b in BOROUGHS]))[borough, room]
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
    return np.clip(rounded, 10, MAX_NATURAL_PRICE).astype(np.int64)


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

    boroughs = np.array(BOROUGHS, dtype=object)[borough]
    landmarks = _pick_from_pools(rng, tuple(LANDMARKS[b] for b in BOROUGHS), borough)
    minutes = _pick(rng, ("10", "15", "20", "25", "30"), n)
    shares = _normalised(LOCATION_PHRASE_SHARES)
    location_kind = rng.choice(len(shares), size=n, p=shares)
    no_phrase = len(shares) - 1  # "min to Manhattan" makes no sense in Manhattan
    in_manhattan = borough == BOROUGHS.index("Manhattan")
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
    moved = np.clip(np.rint(listings["price"].to_numpy() * factor), 10, MAX_NATURAL_PRICE)
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
