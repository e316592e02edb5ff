"""Time-ordered identifiers: newer rows sort after older ones, which keyset pagination relies on."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
