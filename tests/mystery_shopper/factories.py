"""Factories and helpers for mystery-shopper tests."""

from __future__ import annotations

import io
from datetime import date

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory
from PIL import Image

from mystery_shopper.models import ScorecardTemplate, ShopperCity, Visit, VisitStatus
from satisfaction.models import Role
from satisfaction.quarters import Quarter
from tests.factories import StoreFactory, UserFactory


def default_template() -> ScorecardTemplate:
    return ScorecardTemplate.objects.get(code="default", is_current=True)


class ShopperFactory(UserFactory):
    role = Role.MYSTERY_SHOPPER

    @factory.post_generation
    def cities(self, create, extracted, **kwargs):
        if create and extracted:
            ShopperCity.objects.bulk_create([ShopperCity(shopper=self, city=c) for c in extracted])


class VisitFactory(DjangoModelFactory):
    class Meta:
        model = Visit

    store = factory.SubFactory(StoreFactory)
    quarter = Quarter(2026, 4)
    template = factory.LazyFunction(default_template)
    shopper = factory.SubFactory(ShopperFactory)
    status = VisitStatus.ASSIGNED
    due_on = date(2026, 11, 10)


def jpeg_bytes(color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def jpeg_upload(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def wav_bytes() -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def wav_upload(name: str = "rec.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, wav_bytes(), content_type="audio/wav")
