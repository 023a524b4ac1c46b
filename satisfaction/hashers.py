"""The password hasher: Argon2id at OWASP's recommended parameters.

OWASP's Password Storage Cheat Sheet (2023, still current) recommends Argon2id with at least
19 MiB of memory, 2 iterations and 1 degree of parallelism. Django's own Argon2 parameters
(100 MiB, 2 iterations, 8 lanes) cost about 190 ms of CPU per login on the project's 2-core
machines: the morning after publishing, 32 store managers logging in at once queue for
seconds (``bench/morning.py``). These cost about a tenth of that and stay within the
guidance. A hash made with other parameters still verifies, and is rehashed with these at
its next login (``must_update``).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's recommendation)."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
