from django import template

register = template.Library()


@register.filter
def duration(seconds):
    """182.4 -> '3:02'; an hour or more -> '1:02:03'."""
    try:
        total = int(round(float(seconds)))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
