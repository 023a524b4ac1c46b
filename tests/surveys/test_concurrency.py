"""Two submissions of one token at the same moment save exactly one (real PostgreSQL)."""

from functools import partial

import pytest

from satisfaction.errors import ApplicationError
from surveys.models import Invitation, Response
from surveys.services import ResponseInput, invitation_create, response_create
from tests.concurrency import run_concurrently
from tests.surveys.factories import CampaignFactory, all_rated


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_of_one_token_save_exactly_one(store):
    campaign = CampaignFactory()
    invitation = invitation_create(store=store, transaction_ref="POS-RACE")

    def submit(token_invitation: Invitation) -> str:
        response_create(store=store, campaign=campaign, channel="receipt",
                        invitation=token_invitation, data=ResponseInput(ratings=all_rated(4)))
        return "saved"

    # Each submission holds its own copy of the invitation, read before either saves.
    copies = [Invitation.objects.get(pk=invitation.pk) for _ in range(2)]
    outcomes = [outcome.result if outcome.ok else outcome.error.code
                for outcome in run_concurrently(*(partial(submit, copy) for copy in copies),
                                                expect=ApplicationError)]
    assert sorted(outcomes) == ["saved", "token_used"]
    assert Response.objects.filter(invitation=invitation).count() == 1
    assert Response.objects.get().answers.count() == 7
