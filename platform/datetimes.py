"""Datetimes as the API writes them, for representations written out by hand."""


def iso_datetime(value, tz):
    """An aware datetime in ``tz``, as DRF's DateTimeField writes it (ISO 8601, "Z" for UTC); None stays None."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
