"""Proof by faults (issue 12): at every AWS call the handlers make on the way from a web form to
a routed MQL, and right after every successful write, one failure is injected; the pipeline is
redelivered as Lambda and SQS would, and every lead must end where a user expects it.

The points are those of a clean run of tests/faults/scenario.py (recorded once per session); the
test ids name them, and the count is printed by test_the_injection_points_cover_every_function.
"""

from __future__ import annotations

import pytest

from tests.faults import scenario
from tests.faults.harness import Faults, Point, World

_POINTS: list[Point] = []


def recorded_points() -> list[Point]:
    """The points of a clean run, computed on first use in a throwaway emulator."""
    if not _POINTS:
        from moto import mock_aws

        from infra.provision import provision
        from infra.template import load_wiring
        from leadflow.runtime import reset_process_caches
        from tests.conftest import KEYS_SEED, LOCAL_PARAMETERS

        mp = pytest.MonkeyPatch()
        try:
            with mock_aws():
                stack = provision(load_wiring(parameters={"Stage": "dev"}), name="leadflow",
                                  parameters=LOCAL_PARAMETERS, keys_seed=KEYS_SEED)
                for key, value in stack.environment().items():
                    mp.setenv(key, value)
                reset_process_caches()
                faults = Faults()
                faults.install(mp)
                scenario.run(World(stack))
                _POINTS.extend(faults.points())
        finally:
            mp.undo()
            reset_process_caches()
    return _POINTS


def pytest_generate_tests(metafunc):
    if "point" in metafunc.fixturenames:
        points = recorded_points()
        metafunc.parametrize("point", points, ids=[str(p) for p in points])


def test_the_injection_points_cover_every_function_on_the_path():
    points = recorded_points()
    functions = {p.function for p in points}
    assert {"CaptureFunction", "QualifyFunction", "ScoreFunction", "RouteFunction", "RelayFunction",
            "CountersFunction"} <= functions
    services = {p.service for p in points}
    assert {"dynamodb", "sqs", "events", "ses"} <= services, services
    after = [p for p in points if p.when == "after"]
    print(f"\n{len(points)} injection points ({len(after)} right after a successful write or send) "
          f"in {len(functions)} functions")


def test_every_lead_ends_as_a_user_expects_after_a_fault(aws, monkeypatch, point):
    from tests.helpers import CURRENT_STACK

    CURRENT_STACK.clear()  # the World below is the only Lambda service of this test
    faults = Faults(target=point)
    faults.install(monkeypatch)
    world = World(aws)
    leads = scenario.run(world)
    world.run_until_quiet()
    assert faults.fired, f"{point} was not reached"
    scenario.check(world, leads, mail_may_repeat=faults.mail_sent_before_fault)
