"""The raw data's columns: orange juice purchases (ISLR's OJ data; see model-build/data/README.md).

Which brand did the customer buy: Citrus Hill (CH) or Minute Maid (MM, the positive class)?
"""

from model_container.columns import Categorical, Numeric, Schema

PRICE = (0.0, 5.0)  # dollars: the file's prices lie between 0.69 and 2.29
SHARE = (0.0, 1.0)

SCHEMA = Schema(
    columns=(
        Categorical("Purchase", ("CH", "MM")),
        Numeric("WeekofPurchase", 1, 1000, whole=True),
        Categorical("StoreID", ("1", "2", "3", "4", "7")),
        Numeric("PriceCH", *PRICE),
        Numeric("PriceMM", *PRICE),
        Numeric("DiscCH", *PRICE),
        Numeric("DiscMM", *PRICE),
        Numeric("SpecialCH", 0, 1, whole=True),
        Numeric("SpecialMM", 0, 1, whole=True),
        Numeric("LoyalCH", *SHARE),  # the customer's brand loyalty to CH
        Numeric("SalePriceMM", *PRICE),
        Numeric("SalePriceCH", *PRICE),
        Numeric("PriceDiff", -5.0, 5.0),  # sale price of MM less that of CH
        Categorical("Store7", ("No", "Yes")),
        Numeric("PctDiscMM", *SHARE),
        Numeric("PctDiscCH", *SHARE),
        Numeric("ListPriceDiff", -5.0, 5.0),
        Numeric("STORE", 0, 4, whole=True),
    ),
    label="Purchase",
    positive="MM",
    negative="CH",
    # STORE re-codes StoreID (and Store7): read and checked, not a feature.
    unused=frozenset({"STORE"}),
)

# Loyal Citrus Hill customers buy less Minute Maid; a dearer Minute Maid sells less.
MONOTONE = {"LoyalCH": -1, "PriceDiff": -1}

# No facet: the columns describe prices, stores and brand loyalty, not the customers themselves, so
# there is no sensitive group of people to compare (the Bias step reports that no facet is set).
BIAS = None
