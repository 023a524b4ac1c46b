from django.http import HttpRequest

from satisfaction.notifications import unread_count


def unread_notifications(request: HttpRequest) -> dict:
    """The bell's unread count, one indexed COUNT per page for logged-in users (kept on the
    request: the store page asks for it twice, for its frame's cache key and, on a miss, to
    render the frame)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = getattr(request, "_unread_notifications", None)
    if count is None:
        count = unread_count(user=user)
        request._unread_notifications = count  # noqa: SLF001 - this processor's own memo
    return {"unread_notifications": count}
