"""Passwords are hashed with Argon2; older PBKDF2 hashes still log in and are upgraded then."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, make_password
from django.test import Client
from django.urls import reverse

from satisfaction import settings as project
from satisfaction.models import Role
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "morning-after-2026"


@pytest.fixture
def production_hashers(settings):
    """The project's hashers, not the tests' fast MD5 (``tests/conftest.py``)."""
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS


def test_the_project_hashes_with_argon2_first_and_keeps_djangos_defaults_after_it(
        production_hashers):
    assert project.PASSWORD_HASHERS[0] == "satisfaction.hashers.OwaspArgon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in project.PASSWORD_HASHERS[1:]
    hasher = get_hasher("argon2")
    # OWASP's recommendation for Argon2id: at least 19 MiB, 2 passes, 1 lane.
    assert (hasher.memory_cost, hasher.time_cost, hasher.parallelism) == (19 * 1024, 2, 1)
    assert "$m=19456,t=2,p=1$" in make_password(PASSWORD)


def test_a_hash_with_djangos_argon2_parameters_logs_in_and_is_rehashed_with_owasps(
        production_hashers):
    user = UserFactory(role=Role.STORE_MANAGER, stores=[StoreFactory()])
    user.password = make_password(PASSWORD, hasher=Argon2PasswordHasher())
    user.save(update_fields=["password"])
    assert "$m=102400,t=2,p=8$" in user.password
    response = Client().post(reverse("login"), {"username": user.username,
                                                "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert "$m=19456,t=2,p=1$" in user.password


def test_a_new_users_password_is_stored_as_argon2(production_hashers):
    user = UserFactory(role=Role.STORE_MANAGER)
    user.set_password(PASSWORD)
    user.save()
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_a_user_with_a_pbkdf2_hash_logs_in_and_the_hash_is_upgraded_to_argon2(
        production_hashers):
    user = UserFactory(role=Role.STORE_MANAGER, stores=[StoreFactory()])
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")
    response = Client().post(reverse("login"), {"username": user.username,
                                                "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_a_wrong_password_leaves_a_pbkdf2_hash_as_it_was(production_hashers):
    user = UserFactory(role=Role.STORE_MANAGER)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    before = user.password
    response = Client().post(reverse("login"), {"username": user.username,
                                                "password": "not-the-password"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password == before
