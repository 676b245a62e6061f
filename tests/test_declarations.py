"""ga.toml's declarations belong to its own connector: never to another one in the data."""

from connector_ga.api import check, check_fleet
from connector_ga.config import parse_config

CONFIG = {
    "connector": {"id": "alpha"},
    "backend": {"status": "production"},
}


def rows(connector: str) -> list[dict]:
    # Ten successful requests on 2026-11-20, one connection.
    return [
        {
            "time": f"2026-11-20T10:{minute:02d}:00Z",
            "status": 200,
            "connector": connector,
            "connection_id": "c1",
            "user_id": "u1",
        }
        for minute in range(10)
    ]


def test_declarations_judge_only_the_declared_connector(csv_file):
    path = csv_file(rows("alpha") + rows("beta"))
    config = parse_config(CONFIG)
    # alpha is the ga.toml's connector: its declared production backend passes.
    alpha = check(config=config, telemetry=str(path))
    assert alpha.connector == "alpha"
    assert alpha.criterion("backend-production").status == "pass"
    # beta, asked for by name, is judged on its own rows without alpha's declarations.
    beta = check(config=config, telemetry=str(path), connector="beta")
    assert beta.connector == "beta"
    assert beta.criterion("backend-production").status == "insufficient-data"
    # 10 of 10 eligible requests succeed: the metrics are beta's own.
    assert beta.metrics.eligible == 10
    fleet = {r.connector: r for r in check_fleet(str(path), config=config)}
    assert fleet["alpha"].criterion("backend-production").status == "pass"
    assert fleet["beta"].criterion("backend-production").status == "insufficient-data"
