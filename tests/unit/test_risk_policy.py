"""The risk policy (workflows/risk.py): where a score sends an order, its band, and the route the policy suggests
when routing is off. Pure functions: no database."""

import pytest

from workflows.risk import Band, Route, band, route, suggested_route

APPROVE, REVIEW, CANCEL = Route.APPROVE, Route.REVIEW, Route.CANCEL


class TestRoute:
    @pytest.mark.parametrize(
        "score, expected",
        [(0, APPROVE), (19, APPROVE), (20, REVIEW), (59, REVIEW), (60, CANCEL), (100, CANCEL)],
    )
    def test_below_between_and_from_the_thresholds(self, score, expected):
        assert route(score, 20, 60) == expected

    @pytest.mark.parametrize("score, expected", [(0, APPROVE), (19, APPROVE), (20, REVIEW), (100, REVIEW)])
    def test_cancel_off_reviews_what_it_would_cancel(self, score, expected):
        assert route(score, 20, None) == expected

    @pytest.mark.parametrize("score, expected", [(0, REVIEW), (59, REVIEW), (60, CANCEL), (100, CANCEL)])
    def test_approve_off_reviews_what_it_would_approve(self, score, expected):
        assert route(score, None, 60) == expected

    @pytest.mark.parametrize("score", [0, 29, 30, 70, 100])
    def test_both_off_reviews_every_order(self, score):
        assert route(score, None, None) == REVIEW

    @pytest.mark.parametrize("score, expected", [(39, APPROVE), (40, CANCEL)])
    def test_equal_thresholds_leave_nothing_to_review(self, score, expected):
        assert route(score, 40, 40) == expected

    def test_approve_below_zero_approves_nothing_and_cancel_from_100_only_the_top(self):
        assert route(0, 0, 100) == REVIEW
        assert route(99, 0, 100) == REVIEW
        assert route(100, 0, 100) == CANCEL


class TestBand:
    @pytest.mark.parametrize(
        "score, expected",
        [(0, Band.LOW), (29, Band.LOW), (30, Band.MEDIUM), (69, Band.MEDIUM), (70, Band.HIGH), (100, Band.HIGH)],
    )
    def test_the_band_edges(self, score, expected):
        assert band(score, 30, 70) == expected


class TestSuggestedRoute:
    """The route stored on the order: the one its workflow takes, or would take with routing on."""

    @pytest.mark.parametrize(
        "score, expected", [(0, APPROVE), (29, APPROVE), (30, REVIEW), (69, REVIEW), (70, CANCEL), (100, CANCEL)]
    )
    def test_routing_off_follows_the_bands(self, score, expected):
        assert suggested_route(score, None, None, 30, 70) == expected

    @pytest.mark.parametrize("score", [0, 10, 19, 20, 45, 59, 60, 100])
    def test_routing_on_is_the_route_taken(self, score):
        assert suggested_route(score, 20, 60, 30, 70) == route(score, 20, 60)

    @pytest.mark.parametrize(
        "score, expected", [(19, APPROVE), (20, REVIEW), (69, REVIEW), (70, CANCEL)]
    )
    def test_cancel_off_takes_the_high_band_for_it(self, score, expected):
        assert suggested_route(score, 20, None, 30, 70) == expected

    @pytest.mark.parametrize(
        "score, expected", [(29, APPROVE), (30, REVIEW), (59, REVIEW), (60, CANCEL)]
    )
    def test_approve_off_takes_the_medium_band_for_it(self, score, expected):
        assert suggested_route(score, None, 60, 30, 70) == expected

    @pytest.mark.parametrize("score, expected", [(0, APPROVE), (75, APPROVE), (79, APPROVE), (80, CANCEL)])
    def test_an_approve_threshold_above_the_high_band_is_still_the_route_taken(self, score, expected):
        """Approving below 80 with cancelling off: the workflow approves a 75, so the policy never suggests a
        cancel for it."""
        assert suggested_route(score, 80, None, 30, 70) == expected
        if expected == APPROVE:
            assert route(score, 80, None) == APPROVE

    @pytest.mark.parametrize("score, expected", [(0, APPROVE), (19, APPROVE), (20, CANCEL), (25, CANCEL)])
    def test_a_cancel_threshold_below_the_medium_band_is_still_the_route_taken(self, score, expected):
        assert suggested_route(score, None, 20, 30, 70) == expected
        if expected == CANCEL:
            assert route(score, None, 20) == CANCEL
