from django.http import HttpRequest

from satisfaction.models import Notification


def unread_notifications(request: HttpRequest) -> dict:
    """The bell's unread count, one indexed COUNT per page for logged-in users (kept on the
    request: the store page asks for it twice, for its frame's cache key and, on a miss, to
    render the frame)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = getattr(request, "_unread_notifications", None)
    if count is None:
        # From the model's manager: ``user.notifications`` builds a related manager per call.
        count = Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()
        request._unread_notifications = count  # noqa: SLF001 - this processor's own memo
    return {"unread_notifications": count}
