"""Staff groups and the queues they see; the shapes a `cognito:groups` claim arrives in."""

from __future__ import annotations

import pytest
from careline.agents import QUEUES_BY_GROUP, StaffGroup, StaffUser, parse_groups
from careline.conversation.model import Queue


def test_each_group_answers_its_own_queues_and_a_supervisor_all() -> None:
    assert StaffUser("a", ("front_desk",)).queues == {Queue.FRONT_DESK}
    assert StaffUser("b", ("billing",)).queues == {Queue.BILLING}
    assert StaffUser("c", ("nurse",)).queues == {Queue.NURSE, Queue.CRISIS}
    assert StaffUser("d", ("supervisor",)).queues == set(Queue)
    assert set(QUEUES_BY_GROUP) == set(StaffGroup)


def test_a_front_desk_user_may_not_see_the_nurse_or_crisis_queue() -> None:
    front_desk = StaffUser("dana", ("front_desk",))
    assert front_desk.may_see("front_desk")
    assert not front_desk.may_see(Queue.NURSE)
    assert not front_desk.may_see(Queue.CRISIS)
    assert not front_desk.may_see("no_such_queue")
    assert StaffUser("sam", ("supervisor",)).may_see("no_such_queue")


def test_several_groups_add_up_and_unknown_groups_grant_nothing() -> None:
    user = StaffUser("pat", ("billing", "front_desk", "admins"))
    assert user.queues == {Queue.BILLING, Queue.FRONT_DESK}
    assert user.groups == {StaffGroup.BILLING, StaffGroup.FRONT_DESK}
    assert not user.is_supervisor
    assert StaffUser("nobody").queues == frozenset()


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (None, ()),
        ("", ()),
        ("nurse", ("nurse",)),
        ("nurse,supervisor", ("nurse", "supervisor")),
        ("[nurse supervisor]", ("nurse", "supervisor")),
        (["front_desk", "billing"], ("front_desk", "billing")),
        (" nurse , nurse ", ("nurse",)),
    ],
)
def test_the_groups_claim_is_read_in_every_shape_api_gateway_passes(
    claim: str | list[str] | None, groups: tuple[str, ...]
) -> None:
    assert parse_groups(claim) == groups
