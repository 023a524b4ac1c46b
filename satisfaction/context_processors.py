from django.http import HttpRequest


def unread_notifications(request: HttpRequest) -> dict:
    """The bell's unread count, one indexed COUNT per page for logged-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": user.notifications.filter(read_at__isnull=True).count()}
