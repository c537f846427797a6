"""Who sees which dossiers: the task force every one; a unit user those whose receiving
or current unit is theirs."""

from __future__ import annotations

import pytest

from stream_app.domain.access import TASK_FORCE, UNIT_USER, Scope

A, B, OFFICE = "001.22.31.H53", "002.22.31.H53", "000.22.31.H53"


def test_the_task_force_sees_every_dossier():
    assert Scope.everything().sees(A, B) and Scope.everything().sees(None, None)
    assert Scope.everything().role == TASK_FORCE


def test_a_unit_user_sees_the_dossiers_it_received():
    assert Scope.of([A]).sees(A, OFFICE)


def test_a_unit_user_sees_the_dossiers_it_holds_now():
    assert Scope.of([OFFICE]).sees(B, OFFICE)


def test_a_unit_user_does_not_see_another_units_dossier():
    assert not Scope.of([A]).sees(B, OFFICE)
    assert not Scope.of([A]).sees(None, None)
    assert Scope.of([A]).role == UNIT_USER


def test_a_unit_user_needs_a_unit():
    with pytest.raises(ValueError, match="at least one unit"):
        Scope.of([])


def test_a_scope_key_is_stable_whatever_the_order():
    assert Scope.of([B, A]).key() == Scope.of([A, B]).key() == f"{A},{B}"
    assert Scope.everything().key() == "*"
