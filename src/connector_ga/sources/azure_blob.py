"""Telemetry in Azure blob storage (`az://CONTAINER/PREFIX`,
`abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX`): the blobs under a prefix
listed and downloaded into a local folder, then read as files from disk.

Credentials as Azure tools take them: `AZURE_STORAGE_CONNECTION_STRING`; else an account
(the URL's, or `AZURE_STORAGE_ACCOUNT`) with `AZURE_STORAGE_KEY` or
`AZURE_STORAGE_SAS_TOKEN` (at `AZURE_STORAGE_SERVICE_ENDPOINT` if set); else the
azure-identity credential ga.toml's `[telemetry.azure] credential` names. The Azure SDK is
imported only when a blob URL is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError
from .files import CONTAINERS

SCHEMES = ("az://", "abfs://", "abfss://")
_ABFS = re.compile(r"^abfss?://([^@/]+)@([^/]+?)(?::\d+)?(/.*)?$")
_SECRETS = re.compile(r"(?i)(sig|accountkey|sharedaccesssignature)=[^&;\s]+")


def is_blob_url(text: str) -> bool:
    return text.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class Location:
    """Where a blob URL points: its container, prefix, and the account its host names."""

    url: str
    container: str
    prefix: str
    account: str | None = None  # abfs[s]: the host's first label
    host: str | None = None

    def shown(self, name: str) -> str:
        """A blob's name as the user wrote its URL."""
        if self.host is None:
            return f"az://{self.container}/{name}"
        scheme = self.url.split("://", 1)[0].lower()
        return f"{scheme}://{self.container}@{self.host}/{name}"


@dataclass(frozen=True)
class Blob:
    name: str
    shown: str
    key: str  # ACCOUNT/CONTAINER/NAME: what the store remembers it by
    etag: str
    size: int


@dataclass
class Fetched:
    """Blobs downloaded into a folder: (local path, shown name), and those left alone."""

    found: list[tuple[str, str]]
    state: dict[str, tuple[str, str]]  # local path -> (blob key, ETag)
    unchanged: list[Blob]  # listed with the ETag already ingested: not downloaded


def parse(url: str) -> Location:
    if url.lower().startswith("az://"):
        rest = url[len("az://") :]
        container, _, prefix = rest.partition("/")
        if not container:
            raise InputError(f"{url}: expected az://CONTAINER/PREFIX (a container name)")
        return Location(url, container, prefix)
    match = _ABFS.match(url)
    if not match:
        raise InputError(
            f"{url}: expected abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX "
            "(or az://CONTAINER/PREFIX)"
        )
    container, host, path = match.groups()
    return Location(url, container, (path or "/").lstrip("/"), host.split(".")[0], host)


def _redacted(text: str) -> str:
    return _SECRETS.sub(lambda m: f"{m.group(1)}=***", text)


def _account_of_connection_string(value: str) -> str | None:
    for part in value.split(";"):
        key, _, item = part.partition("=")
        if key.strip().lower() == "accountname":
            return item.strip()
    match = re.search(r"(?i)blobendpoint=[^;]*?/([^/;]+)/?(?:;|$)", value)
    return match.group(1) if match else None


def service_client(location: Location, identity: str = "default"):
    """A BlobServiceClient for the location, with the first credential the environment gives."""
    from azure.storage.blob import BlobServiceClient

    # Bounded: an endpoint that does not answer is said within seconds, not minutes.
    options = {
        "retry_total": 2,
        "retry_connect": 1,
        "retry_backoff_factor": 0.5,
        "connection_timeout": 10,
        "read_timeout": 60,
    }
    connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection:
        named = _account_of_connection_string(connection)
        if location.account and named and named.lower() != location.account.lower():
            raise InputError(
                f"{location.url}: names account {location.account}, but "
                f"AZURE_STORAGE_CONNECTION_STRING is for account {named}: expected the same one"
            )
        try:
            return BlobServiceClient.from_connection_string(connection, **options)
        except ValueError:
            raise InputError(
                "AZURE_STORAGE_CONNECTION_STRING: expected a storage connection string "
                "(AccountName=…;AccountKey=…;BlobEndpoint=… or SharedAccessSignature=…)"
            ) from None
    account = location.account or os.environ.get("AZURE_STORAGE_ACCOUNT")
    if not account:
        raise InputError(
            f"{location.url}: no storage account: set AZURE_STORAGE_CONNECTION_STRING, or "
            "AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or an "
            "azure-identity credential), or use abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/"
        )
    host = (location.host or f"{account}.blob.core.windows.net").replace(".dfs.", ".blob.")
    endpoint = os.environ.get("AZURE_STORAGE_SERVICE_ENDPOINT") or f"https://{host}"
    key = os.environ.get("AZURE_STORAGE_KEY")
    sas = os.environ.get("AZURE_STORAGE_SAS_TOKEN")
    if key:
        credential = {"account_name": account, "account_key": key}
    elif sas:
        credential = sas.lstrip("?")
    else:
        from .azure_monitor import credential_for

        cloud = (
            "us-government"
            if host.endswith(".usgovcloudapi.net")
            else "china"
            if host.endswith(".chinacloudapi.cn")
            else "public"
        )
        credential = credential_for(identity, cloud)
    return BlobServiceClient(endpoint, credential=credential, **options)


def _fault(location: Location, client, exc: BaseException) -> InputError:
    """One line naming the account, the container and what went wrong; no secret."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    where = f"{location.url}: storage account {client.account_name}, container {location.container}"
    if isinstance(exc, ServiceRequestError):
        endpoint = client.url.split("?", 1)[0].rstrip("/")  # a SAS rides in the query: not shown
        return InputError(f"{where}: cannot reach {endpoint} ({_redacted(_first(exc))})")
    code = getattr(exc, "error_code", None) or ""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        what = (
            "a blob went away while it was read (deleted or its hour rewritten): ingest again"
            if "Blob" in code
            else "the container does not exist"
        )
        return InputError(f"{where}: {what} (404 {code or 'NotFound'})".replace(" ()", ""))
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return InputError(
            f"{where}: the credential was refused ({status or 'no token'} "
            f"{code or _redacted(_first(exc))}): check the key, SAS or role "
            "(Storage Blob Data Reader)"
        )
    if isinstance(exc, HttpResponseError):
        return InputError(f"{where}: the storage service answered {status} {code}".rstrip())
    return InputError(f"{where}: {_redacted(_first(exc))}")


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def list_blobs(location: Location, client) -> list[Blob]:
    """The blobs under the prefix that hold telemetry (.json, .jsonl, .csv, .parquet), by
    name; a prefix with none is an error naming it."""
    from azure.core.exceptions import AzureError

    account = client.account_name
    container = client.get_container_client(location.container)
    try:
        blobs = [
            Blob(
                b.name,
                location.shown(b.name),
                f"{account}/{location.container}/{b.name}",
                _etag(b.etag),
                b.size,
            )
            for b in container.list_blobs(name_starts_with=location.prefix or None)
            if PurePosixPath(b.name).suffix.lower() in CONTAINERS
        ]
    except AzureError as exc:
        raise _fault(location, client, exc) from None
    if not blobs:
        raise InputError(
            f"{location.url}: storage account {account}, container {location.container}: "
            f"no .csv, .json, .jsonl or .parquet blob under '{location.prefix}'"
        )
    return sorted(blobs, key=lambda b: b.name)


def fetch(
    urls: Sequence[str],
    folder: Path,
    known: dict[str, str] | None = None,
    identity: str = "default",
) -> Fetched:
    """Download the blobs under each URL into `folder`, except those whose key and ETag are
    in `known` (already ingested): a new hour costs one hour."""
    from azure.core.exceptions import AzureError

    known = known or {}
    fetched = Fetched([], {}, [])
    for url in urls:
        location = parse(url)
        client = service_client(location, identity)
        container = client.get_container_client(location.container)
        for blob in list_blobs(location, client):
            if known.get(blob.key) == blob.etag:
                fetched.unchanged.append(blob)
                continue
            # A folder per blob keeps its own name (and suffix), whatever its path holds.
            local = folder / f"{len(fetched.state):06d}" / PurePosixPath(blob.name).name
            local.parent.mkdir(parents=True)
            try:
                with open(local, "wb") as handle:
                    stream = container.download_blob(blob.name)
                    stream.readinto(handle)
            except AzureError as exc:
                raise _fault(location, client, exc) from None
            # The ETag of what was read: an append blob may have grown since it was listed.
            etag = _etag(stream.properties.etag) or blob.etag
            fetched.found.append((str(local), blob.shown))
            fetched.state[str(local)] = (blob.key, etag)
    return fetched


def _etag(value: str | None) -> str:
    """An ETag without its quotes: listings and downloads do not quote it alike."""
    return (value or "").strip('"')
