"""Two submissions of one token at the same moment save exactly one (real PostgreSQL)."""

import threading

import pytest
from django.db import connection

from satisfaction.errors import ApplicationError
from surveys.models import Invitation, Response
from surveys.services import ResponseInput, invitation_create, response_create
from tests.surveys.factories import CampaignFactory, all_rated


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_of_one_token_save_exactly_one(store):
    campaign = CampaignFactory()
    invitation = invitation_create(store=store, transaction_ref="POS-RACE")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            token_invitation = Invitation.objects.get(pk=invitation.pk)
            barrier.wait()
            response_create(store=store, campaign=campaign, channel="receipt",
                            invitation=token_invitation,
                            data=ResponseInput(ratings=all_rated(4)))
            outcomes.append("saved")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["saved", "token_used"]
    assert Response.objects.filter(invitation=invitation).count() == 1
    assert Response.objects.get().answers.count() == 7
