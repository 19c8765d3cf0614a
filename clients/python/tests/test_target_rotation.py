"""The order a client tries its nodes in, event by event, without a node: the one in use until it fails, then the
next that has not failed lately; failed ones last, soonest back first. And how targets are given."""

import pytest

from healthledger.command_line import normalized_targets
from healthledger.failover import TargetRotation, parse_targets


def rotation(count: int) -> TargetRotation:
    return TargetRotation(count, downtime=2.0, clock=lambda: 0.0)


def test_calls_start_with_the_first_node_in_turn():
    assert rotation(3).attempt_order(now=0.0) == [0, 1, 2]


def test_when_the_node_in_use_fails_calls_move_on_and_try_it_last():
    nodes = rotation(3)
    nodes.failed(0, now=10.0)
    assert nodes.current == 1
    assert nodes.attempt_order(now=10.0) == [1, 2, 0]
    assert nodes.is_down(0, now=11.0)


def test_when_another_node_fails_calls_stay_where_they_are():
    nodes = rotation(3)
    nodes.failed(1, now=0.0)
    assert nodes.current == 0
    assert nodes.attempt_order(now=0.0) == [0, 2, 1]


def test_after_its_downtime_a_failed_node_takes_its_turn_again_but_calls_stay_where_they_went():
    nodes = rotation(3)
    nodes.failed(0, now=0.0)
    nodes.reached(1)
    assert nodes.attempt_order(now=2.0) == [1, 2, 0]
    assert not nodes.is_down(0, now=2.0)


def test_with_every_node_down_all_are_tried_the_one_back_soonest_first():
    nodes = rotation(3)
    nodes.failed(2, now=0.0)
    nodes.failed(0, now=1.0)
    nodes.failed(1, now=0.5)
    assert nodes.attempt_order(now=1.0) == [2, 1, 0]


def test_reaching_a_node_makes_it_the_one_in_use_and_clears_its_downtime():
    nodes = rotation(3)
    nodes.failed(0, now=0.0)
    nodes.failed(1, now=0.0)
    nodes.reached(0)
    assert nodes.current == 0 and not nodes.is_down(0, now=0.0)
    assert nodes.attempt_order(now=0.0) == [0, 2, 1]


def test_a_single_node_is_always_the_one_tried():
    nodes = rotation(1)
    nodes.failed(0, now=0.0)
    assert nodes.current == 0 and nodes.attempt_order(now=0.0) == [0]


def test_targets_are_one_address_a_comma_separated_string_or_a_list():
    assert parse_targets("127.0.0.1:7443") == ["127.0.0.1:7443"]
    assert parse_targets("a:7443, b:7443") == ["a:7443", "b:7443"]
    assert parse_targets(["a:1", "b:2"]) == ["a:1", "b:2"]
    assert normalized_targets("a,[::1],b:7080") == ["a:7443", "[::1]:7443", "b:7080"]
    for bad in ("", "a:1,,b:2", []):
        with pytest.raises(ValueError):
            parse_targets(bad)
