"""Processes 4, 6 and 7: needs, service experience, marketing response."""

from tests.conftest import simulate


def test_app_scenes_drive_app_visits():
    """More scenes and content in the app bring more app visits (high frequency)."""
    lo = simulate("strategy.app_scenes=0.0")
    hi = simulate("strategy.app_scenes=1.0")
    assert hi.outcomes["app_mau_rate"] > lo.outcomes["app_mau_rate"]
    assert hi.outcomes["contacts_mobile"] > lo.outcomes["contacts_mobile"]


def test_missing_human_service_hurts_satisfaction():
    """Problems with no human reachable lower satisfaction."""
    many = "market.environment.problem_rate=10"
    lo = simulate(many, "strategy.human_service=0.0")
    hi = simulate(many, "strategy.human_service=1.0")
    assert hi.outcomes["satisfaction"] > lo.outcomes["satisfaction"]


def test_human_contact_grows_bond():
    """Relationship managers grow the emotional bond."""
    lo = simulate("strategy.rm_coverage=0.0")
    hi = simulate("strategy.rm_coverage=1.0")
    assert hi.outcomes["bond"] > lo.outcomes["bond"]


def test_data_capability_raises_offer_success():
    """Rich customer profiles make offers more relevant."""
    lo = simulate("strategy.data_capability=0.0")
    hi = simulate("strategy.data_capability=1.0")
    assert hi.outcomes["offer_success_rate"] > lo.outcomes["offer_success_rate"]


def test_cross_selling_adds_products():
    """Cross-selling raises products per customer."""
    lo = simulate("strategy.cross_sell=0.0", "strategy.event_offers=0.0")
    hi = simulate("strategy.cross_sell=0.5")
    assert hi.outcomes["products_per_customer"] > lo.outcomes["products_per_customer"]


def test_blind_pushes_annoy():
    """Many badly timed pushes lower satisfaction against few well-timed ones."""
    lo = simulate("strategy.push_per_week=14", "strategy.push_timing=0.0")
    hi = simulate("strategy.push_per_week=1", "strategy.push_timing=1.0")
    assert hi.outcomes["satisfaction"] > lo.outcomes["satisfaction"]


def test_reactivation_wakes_dormant_accounts():
    """Reactivation campaigns bring dormant accounts back."""
    lo = simulate("strategy.reactivation=0.0", "market.behaviour.dormancy_weeks=6")
    hi = simulate("strategy.reactivation=1.0", "market.behaviour.dormancy_weeks=6")
    assert hi.outcomes["reactivations_per_1000"] > lo.outcomes["reactivations_per_1000"]
    assert hi.outcomes["dormancy_rate"] < lo.outcomes["dormancy_rate"]
