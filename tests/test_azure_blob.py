"""Telemetry in blob storage (issue 19 parts 4 and 5, DESIGN.md "Telemetry where Azure keeps
it"): the resource-log archive a diagnostic setting writes, uploaded to Azurite (Microsoft's
storage emulator, on 127.0.0.1, started here) and read with `-t az://…` / `abfss://…` and
`ingest`, through the real azure-storage-blob client and Azurite's well-known account key.
Nothing reaches a Microsoft host.

Every expected number is counted by hand in the comment next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azurite import ACCOUNT, KEY, Azurite, binary
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.store import Store

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
CONTAINER = "insights-logs-gatewaylogs"
RESOURCE_ID = (
    "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG-CONTOSO"
    "/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/CONTOSO"
)
PREFIX = f"resourceId={RESOURCE_ID}/"


def record(time, n, status, backend=None, sub="sub-a"):
    """One gateway resource-log record as the archive holds it (request in `properties`)."""
    properties = {
        "method": "GET",
        "url": "https://contoso.azure-api.net/tasks",
        "responseCode": status,
        "apiId": "contoso-tasks",
        "operationId": "ListTasks",
        "apimSubscriptionId": sub,
        "userId": f"raw-user-{n % 2}",
    }
    if backend is not None:
        properties["backendResponseCode"] = backend
    return {
        "time": f"2026-11-20T{time}:00.0000000Z",
        "resourceId": RESOURCE_ID,
        "category": "GatewayLogs",
        "operationName": "Microsoft.ApiManagement/GatewayLogs",
        "correlationId": f"6d1b2c3e-0000-4000-8000-{n:012d}",
        "durationMs": 10,
        "properties": properties,
    }


HOURS = {
    "08": [
        record("08:05", 1, 200, 200),  # none
        record("08:10", 2, 500, 200),  # connector (the backend said 200)
        record("08:15", 3, 429, sub="sub-b"),  # throttled
    ],
    "09": [
        record("09:05", 4, 200, 200, sub="sub-b"),  # none
        record("09:10", 5, 502, 503, sub="sub-b"),  # backend
        record("09:15", 6, 404, 404),  # client
    ],
    "10": [
        record("10:05", 7, 200, 200),  # none
        record("10:10", 8, 500, 200),  # connector
    ],
}


def blob_name(hour: str) -> str:
    return f"{PREFIX}y=2026/m=11/d=20/h={hour}/m=00/PT1H.json"


def text_of(hour: str) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in HOURS[hour]).encode()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    if binary() is None:
        pytest.skip("Azurite is not installed: `make install` puts it in .tools/")
    server = Azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture
def storage(azurite, monkeypatch, tmp_path):
    """An empty archive container; the environment names Azurite by its connection string."""
    for name in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    service = azurite.client()
    container = service.get_container_client(CONTAINER)
    if container.exists():
        container.delete_container()
    container.create_container()
    return container


def upload(container, *hours: str) -> None:
    for hour in hours:
        container.upload_blob(blob_name(hour), text_of(hour), overwrite=True)


def on_disk(folder: Path, *hours: str) -> Path:
    """The same blobs as the container's folder on disk."""
    for hour in hours:
        path = folder / CONTAINER / blob_name(hour)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text_of(hour))
    return folder / CONTAINER


def ga_toml(folder: Path) -> Path:
    path = folder / "ga.toml"
    path.write_text('[connector]\nid = "contoso-tasks"\n', encoding="utf-8")
    return path


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def check_json(*args) -> dict:
    result = cli("check", *args, "--as-of", "2026-11-20", "--json", "-")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def figures(result: dict) -> tuple:
    m = result["metrics"]
    return (m["requests"], m["eligible"], m["faults"], m["availability"], m["success_rate"])


# h=08 and h=09: requests 6; eligible 6 - 1 throttled = 5; connector faults 1 (record 2);
# availability 1 - 1/5 = 0.8; success 2/5 = 0.4 (records 1, 4).
TWO_HOURS = (
    6,
    5,
    {"none": 2, "connector": 1, "throttled": 1, "backend": 1, "client": 1},
    pytest.approx(0.8),
    pytest.approx(0.4),
)
# With h=10: requests 8; eligible 7; connector 2 (records 2, 8); availability 1 - 2/7 = 5/7;
# success 3/7 (records 1, 4, 7).
THREE_HOURS = (
    8,
    7,
    {"none": 3, "connector": 2, "throttled": 1, "backend": 1, "client": 1},
    pytest.approx(5 / 7),
    pytest.approx(3 / 7),
)


# ---- part 4: the archive read in place and ingested -------------------------------------


def test_check_in_place_from_az_and_abfss_equals_the_folder_on_disk(storage, tmp_path):
    upload(storage, "08", "09")
    config = ga_toml(tmp_path)
    from_az = check_json("-c", config, "-t", f"az://{CONTAINER}/{PREFIX}")
    assert figures(from_az) == TWO_HOURS
    abfss = f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net/resourceId="
    from_abfss = check_json("-c", config, "-t", abfss)
    from_disk = check_json("-c", config, "-t", on_disk(tmp_path / "disk", "08", "09"))
    assert figures(from_abfss) == figures(from_disk) == figures(from_az) == TWO_HOURS
    assert from_az["data_quality"]["rows"] == 6  # 3 + 3, none rejected
    assert from_az["data_quality"]["rejected_rows"] == 0
    # A check in place writes nothing here: only what this test wrote.
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["disk", "ga.toml"]


def test_second_ingest_downloads_only_the_new_hour(storage, azurite, tmp_path):
    upload(storage, "08", "09")
    config = ga_toml(tmp_path)
    store = tmp_path / "blobs.duckdb"
    url = f"az://{CONTAINER}/{PREFIX}"
    before = azurite.downloads()
    first = cli("ingest", url, "--store", store, "-c", config)
    assert first.exit_code == 0, first.output
    assert "stored 6 requests" in first.output  # 3 + 3
    assert azurite.downloads() - before == 2  # h=08, h=09
    with Store.open(store) as opened:
        version = opened.version()
        assert sorted(opened.table("files").path.execute()) == [
            f"az://{CONTAINER}/{blob_name('08')}",
            f"az://{CONTAINER}/{blob_name('09')}",
        ]

    again = cli("ingest", url, "--store", store, "-c", config)
    assert again.exit_code == 0, again.output
    assert again.output.count("already ingested (same ETag), not downloaded") == 2
    assert "stored 0 requests" in again.output
    assert azurite.downloads() - before == 2  # nothing downloaded again
    with Store.open(store) as opened:
        assert opened.version() == version  # nothing published

    upload(storage, "10")
    third = cli("ingest", url, "--store", store, "-c", config)
    assert third.exit_code == 0, third.output
    assert "stored 2 requests" in third.output  # records 7, 8
    assert azurite.downloads() - before == 3  # h=10 only
    from_store = check_json("-c", config, "--store", store)
    assert figures(from_store) == THREE_HOURS

    disk_store = tmp_path / "disk.duckdb"
    folder = on_disk(tmp_path / "disk", "08", "09", "10")
    assert cli("ingest", folder, "--store", disk_store, "-c", config).exit_code == 0
    assert figures(check_json("-c", config, "--store", disk_store)) == THREE_HOURS


def test_a_blob_that_grew_is_read_again_and_its_rows_count_once(storage, tmp_path):
    """An hour's PT1H.json grows while the hour lasts (its ETag changes): it is downloaded
    again, and the request ids already stored count once."""
    storage.upload_blob(blob_name("08"), text_of("08")[: len(json.dumps(HOURS["08"][0])) + 1])
    config = ga_toml(tmp_path)
    store = tmp_path / "grow.duckdb"
    url = f"az://{CONTAINER}/{PREFIX}"
    first = cli("ingest", url, "--store", store, "-c", config)
    assert "stored 1 requests" in first.output, first.output  # record 1 alone
    upload(storage, "08")  # now the whole hour: records 1, 2, 3
    second = cli("ingest", url, "--store", store, "-c", config)
    assert second.exit_code == 0, second.output
    assert "stored 2 requests" in second.output  # 3 rows, record 1 already stored
    assert "1 already stored (request_id)" in second.output
    with Store.open(store) as opened:
        assert opened.info()["rows"] == 3


def test_forget_a_blob_and_it_is_downloaded_again(storage, azurite, tmp_path):
    upload(storage, "08")
    config = ga_toml(tmp_path)
    store = tmp_path / "forget.duckdb"
    url = f"az://{CONTAINER}/{PREFIX}"
    assert cli("ingest", url, "--store", store, "-c", config).exit_code == 0
    shown = f"az://{CONTAINER}/{blob_name('08')}"
    forgot = cli("store", "forget", shown, "--store", store)
    assert forgot.exit_code == 0, forgot.output
    before = azurite.downloads()
    again = cli("ingest", url, "--store", store, "-c", config)
    assert "stored 3 requests" in again.output, again.output
    assert azurite.downloads() - before == 1


@pytest.mark.parametrize("kind", ["key", "sas"])
def test_an_account_with_a_key_or_a_sas_from_the_environment(storage, azurite, monkeypatch, kind):
    """No connection string: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, or with a SAS the
    account key signed (read + list), at AZURE_STORAGE_SERVICE_ENDPOINT (Azurite)."""
    import datetime as dt

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    upload(storage, "08", "09")
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_SERVICE_ENDPOINT", azurite.endpoint)
    if kind == "key":
        monkeypatch.setenv("AZURE_STORAGE_KEY", KEY)
    else:
        sas = generate_account_sas(
            ACCOUNT,
            KEY,
            ResourceTypes(container=True, object=True),
            AccountSasPermissions(read=True, list=True),
            expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
        monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", sas)
    url = f"az://{CONTAINER}/{PREFIX}"
    result = cli("check", "-t", url, "--as-of", "2026-11-20", "--json", "-")
    assert result.exit_code in (0, 1), result.output
    assert figures(json.loads(result.stdout)) == TWO_HOURS
    if kind == "sas":
        assert sas.split("sig=")[1].split("&")[0] not in result.output


# ---- part 5: faults, one line each, the store unchanged, no secret shown -------------------


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_container_that_is_not_there(storage, tmp_path):
    store = tmp_path / "none.duckdb"
    line = one_line_exit_2(cli("ingest", "az://no-such-container/x/", "--store", store))
    assert "no-such-container" in line and ACCOUNT in line
    assert "does not exist" in line
    assert not store.exists()


def test_a_prefix_with_no_blob(storage, tmp_path):
    upload(storage, "08")
    line = one_line_exit_2(cli("check", "-t", f"az://{CONTAINER}/resourceId=/NOTHING/"))
    assert CONTAINER in line and "no .csv, .json, .jsonl or .parquet blob" in line


def test_a_refused_key_names_the_account_and_shows_no_key(storage, azurite, monkeypatch, tmp_path):
    wrong = "A" * 86 + "=="
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        azurite.connection_string.replace(KEY, wrong),
    )
    upload(storage, "08")
    store = tmp_path / "refused.duckdb"
    result = cli("ingest", f"az://{CONTAINER}/{PREFIX}", "--store", store)
    line = one_line_exit_2(result)
    assert ACCOUNT in line and CONTAINER in line and "403" in line and "refused" in line
    assert wrong not in result.output and KEY not in result.output
    assert not store.exists()


def test_a_refused_sas_shows_no_signature(storage, azurite, monkeypatch, tmp_path):
    sas = "sv=2025-01-05&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=bm90LWEtc2lnbmF0dXJl"
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"BlobEndpoint={azurite.endpoint};SharedAccessSignature={sas}",
    )
    result = cli("check", "-t", f"az://{CONTAINER}/{PREFIX}")
    line = one_line_exit_2(result)
    assert ACCOUNT in line and CONTAINER in line and "refused" in line
    assert "bm90LWEtc2lnbmF0dXJl" not in result.output


def test_an_unreachable_endpoint(storage, monkeypatch, tmp_path):
    from azurite import free_port

    closed = f"http://127.0.0.1:{free_port()}/{ACCOUNT}"
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={closed};",
    )
    store = tmp_path / "unreachable.duckdb"
    result = cli("ingest", f"az://{CONTAINER}/{PREFIX}", "--store", store)
    line = one_line_exit_2(result)
    assert f"cannot reach {closed}" in line and CONTAINER in line
    assert KEY not in result.output
    assert not store.exists()


def test_no_account_named_anywhere(monkeypatch, tmp_path):
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    line = one_line_exit_2(cli("check", "-t", f"az://{CONTAINER}/"))
    assert f"az://{CONTAINER}/" in line and "AZURE_STORAGE_CONNECTION_STRING" in line


def test_an_abfss_account_other_than_the_connection_string(storage):
    url = f"abfss://{CONTAINER}@contosologs.dfs.core.windows.net/"
    line = one_line_exit_2(cli("check", "-t", url))
    assert "contosologs" in line and ACCOUNT in line
