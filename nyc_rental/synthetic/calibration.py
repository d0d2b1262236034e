"""Calibration tables of the synthetic deliveries: aggregate statistics of the real data, no code.

:mod:`nyc_rental.synthetic.generator` draws the listings from these tables; the platform's rules (the price
range, the boroughs, the New York bounding box) are not here but in :mod:`nyc_rental.core.rules`.

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

The week-to-week evolution and the partial export are not measured (the samples are a single
snapshot): they are chosen to be plausible and to keep every week at the calibrated values.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Derived from aggregate statistics of the July 2019 Inside Airbnb NYC snapshot (CC BY 4.0); no
# row of the data is reproduced here.
# ---------------------------------------------------------------------------------------------

#: Share of listings per borough (``neighbourhood_group``). The borough names are rules.BOROUGHS; the key
#: order is the generator's draw order (which random draw means which borough), so it must not change.
BOROUGH_SHARES: dict[str, float] = {
    "Manhattan": 0.4430,
    "Brooklyn": 0.4112,
    "Queens": 0.1159,
    "Bronx": 0.0223,
    "Staten Island": 0.0076,
}

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

#: Points just outside rules.NYC_BOUNDING_BOX (New Jersey, west of -74.25) used for bad rows.
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
#: How the location is phrased (see generator._title) and how often, roughly as in real titles.
LOCATION_PHRASE_SHARES = (0.20, 0.06, 0.05, 0.04, 0.03, 0.03, 0.04, 0.05, 0.03, 0.10, 0.37)

#: Share of Manhattan listings a partial export loses (`without_most_of_manhattan`).
PARTIAL_EXPORT_LOSS = 0.9
