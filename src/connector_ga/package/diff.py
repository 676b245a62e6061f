"""Compare two versions of a connector package: the changes that break its users.

    report = diff_packages(load_for_diff(old), load_for_diff(new))

Operations are matched by operationId, then by path + method, then by
`x-ms-api-annotation` family. `$ref`s are followed; a change inside a shared definition is
reported once for every operation that reaches it, naming the definition.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .loader import PROPERTIES, SWAGGER, Package, load_package
from .positions import escape
from .rules_diff import DIFF_RULES, LEVELS, Level

DIFF_SCHEMA = "connector-ga/diff/v1"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
DYNAMIC = ("x-ms-dynamic-values", "x-ms-dynamic-schema", "x-ms-dynamic-list")
ROUTE_TEMPLATES = ("dynamichosturl", "routerequesttoendpoint")
MAX_DEPTH = 24


@dataclass(frozen=True)
class Change:
    """`side` says which package `file`, `pointer`, `line` and `column` are in."""

    rule: str
    level: Level
    operation: str | None
    side: str  # "old" or "new"
    file: str
    pointer: str
    line: int | None
    column: int | None
    message: str


@dataclass
class DiffReport:
    old: Package
    new: Package
    old_label: str  # how the old package is named in locations (a folder or REF:folder)
    new_label: str
    changes: list[Change] = field(default_factory=list)

    def count(self, level: Level) -> int:
        return sum(1 for c in self.changes if c.level == level)

    @property
    def breaking(self) -> int:
        return self.count("breaking")

    def location(self, change: Change) -> str:
        label = self.old_label if change.side == "old" else self.new_label
        place = f"{label.rstrip('/')}/{change.file}"
        if change.line is not None:
            place += f":{change.line}:{change.column}"
        return place


def load_for_diff(path: str | Path, label: str | None = None) -> Package:
    """A package both of whose JSON files parse; otherwise one line naming file:line:col
    (under `label`, e.g. REF:folder, when the folder is a temporary copy)."""
    package = load_package(path)
    for problem in package.problems:
        if problem.rule == "FileMissing":
            continue  # a package without apiProperties.json is compared without it
        where = f"{label}/{problem.file}" if label else str(package.path / problem.file)
        if problem.line is not None:
            where += f":{problem.line}:{problem.column}"
        raise InputError(f"{where}: {problem.message}")
    return package


# ---------------------------------------------------------------- the package at a git ref


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise InputError(f"--base needs git: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class GitBase:
    """The old package as committed at `ref`: where it was written, and its history."""

    folder: Path
    label: str  # REF:folder
    root: Path  # the repository
    rel: str  # the package folder inside it ("" at the root)
    ref: str
    absent: bool = False  # no package there at REF: a new connector

    def history(self, limit: int = 200) -> list[tuple[str, dt.datetime]]:
        """The commits that changed the definition, newest first: (commit, commit date)."""
        file = f"{self.rel}/{SWAGGER}" if self.rel else SWAGGER
        log = _git(["log", f"-{limit}", "--format=%H %cI", self.ref, "--", file], self.root)
        found = []
        for line in log.stdout.decode().splitlines():
            commit, _, when = line.partition(" ")
            found.append((commit, dt.datetime.fromisoformat(when)))
        return found

    def swagger_at(self, commit: str) -> dict | None:
        file = f"{self.rel}/{SWAGGER}" if self.rel else SWAGGER
        shown = _git(["show", f"{commit}:{file}"], self.root)
        if shown.returncode != 0:
            return None
        try:
            data = json.loads(shown.stdout.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None


EMPTY_DEFINITION = json.dumps(
    {"swagger": "2.0", "info": {"title": "(none)", "version": "0"}, "paths": {}}
)


def export_at_ref(package: Path, ref: str, into: Path) -> GitBase:
    """Write the package folder as committed at `ref` under `into`."""
    package = package.resolve()
    folder = package.parent if package.is_file() else package
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top.returncode != 0:
        raise InputError(f"{folder}: not inside a git repository (--base reads the git history)")
    root = Path(top.stdout.decode().strip()).resolve()
    rel = folder.relative_to(root).as_posix()
    rel = "" if rel == "." else rel
    spec = f"{ref}:{rel}" if rel else f"{ref}:"
    check = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    if check.returncode != 0:
        raise InputError(f"--base {ref!r}: no such commit in {root}")
    listing = _git(["ls-tree", "--name-only", spec], root)
    if listing.returncode != 0 or SWAGGER not in listing.stdout.decode().split("\n"):
        # A new connector's pull request: nothing was committed at REF, so nothing can
        # break. It is compared with an empty definition: every operation is new.
        into.mkdir(parents=True, exist_ok=True)
        (into / SWAGGER).write_text(EMPTY_DEFINITION, encoding="utf-8")
        return GitBase(into, f"{ref}:{rel or '.'} (absent)", root, rel, ref, absent=True)
    archive = _git(["archive", "--format=tar", spec], root)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git archive {spec}: {message[0] if message else 'failed'}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and "/" not in m.name]
        tar.extractall(into, members=members, filter="data")
    return GitBase(into, f"{ref}:{rel or '.'}", root, rel, ref)


# ------------------------------------------------------------------------- the operations


@dataclass
class _Op:
    key: str  # operationId, or "METHOD path" without one
    operation_id: str | None
    path: str
    method: str
    node: dict
    pointer: str

    @property
    def family(self) -> str | None:
        annotation = self.node.get("x-ms-api-annotation")
        family = annotation.get("family") if isinstance(annotation, dict) else None
        return family if isinstance(family, str) else None


def _operations(package: Package) -> list[_Op]:
    paths = (package.swagger or {}).get("paths")
    ops: list[_Op] = []
    if not isinstance(paths, dict):
        return ops
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            node = item.get(method)
            if not isinstance(node, dict):
                continue
            op_id = node.get("operationId")
            op_id = op_id if isinstance(op_id, str) and op_id else None
            pointer = f"/paths/{escape(path)}/{method}"
            ops.append(_Op(op_id or f"{method.upper()} {path}", op_id, path, method, node, pointer))
    return ops


def _match(old: list[_Op], new: list[_Op]) -> tuple[list[tuple[_Op, _Op, str]], list, list]:
    """(matched pairs with how they matched, old unmatched, new unmatched)."""
    pairs: list[tuple[_Op, _Op, str]] = []
    free_new = list(new)
    rest: list[_Op] = []
    by_id = {op.operation_id: op for op in new if op.operation_id}
    for op in old:
        other = by_id.get(op.operation_id) if op.operation_id else None
        if other is not None and other in free_new:
            pairs.append((op, other, "id"))
            free_new.remove(other)
        else:
            rest.append(op)
    unmatched: list[_Op] = []
    for op in rest:
        other = next((n for n in free_new if n.path == op.path and n.method == op.method), None)
        if other is None and op.family:
            other = next((n for n in free_new if n.family == op.family), None)
        if other is not None:
            pairs.append((op, other, "path" if other.path == op.path else "family"))
            free_new.remove(other)
        else:
            unmatched.append(op)
    return pairs, unmatched, free_new


# ------------------------------------------------------------------------------ comparing


def _deprecated(swagger: dict | None, key: str) -> bool:
    fake = Package(path=Path("."), data={SWAGGER: swagger})
    return any(op.key == key and op.node.get("deprecated") is True for op in _operations(fake))


def deprecated_since(base: GitBase, key: str) -> dt.datetime | None:
    """When the operation, deprecated at the base, was first committed as deprecated (the
    earliest commit of the unbroken run of deprecated versions); None when it is not."""
    since = None
    for commit, when in base.history():
        if not _deprecated(base.swagger_at(commit), key):
            break
        since = when
    return since


class _Differ:
    def __init__(self, report: DiffReport, base: GitBase | None = None) -> None:
        self.base = base
        self.report = report
        self.old = report.old
        self.new = report.new
        # (operation, direction, old definition, new definition) already compared: a
        # definition an operation reaches twice is reported once for it
        self.compared: set[tuple[str, str, str, str]] = set()

    def add(
        self,
        rule: str,
        operation: str | None,
        side: str,
        pointer: str,
        message: str,
        file: str = SWAGGER,
    ) -> None:
        package = self.old if side == "old" else self.new
        where = package.line_of(file, pointer)
        line, column = where if where else (None, None)
        level = DIFF_RULES[rule][0]
        change = Change(rule, level, operation, side, file, pointer, line, column, message)
        if change not in self.report.changes:
            self.report.changes.append(change)

    # ---- parameters

    def _parameters(self, package: Package, op: _Op) -> dict[str, tuple[dict, str]]:
        """Parameters by name (the body parameter as "body"), path-level ones included,
        `$ref`s resolved: name -> (parameter, pointer)."""
        found: dict[str, tuple[dict, str]] = {}
        item_pointer = op.pointer.rsplit("/", 1)[0]
        for where in (item_pointer, op.pointer):
            params = package.get(where + "/parameters")
            if not isinstance(params, list):
                continue
            for i, param in enumerate(params):
                param, at = package.resolve(param, f"{where}/parameters/{i}")
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    continue
                key = "body" if param.get("in") == "body" else param["name"]
                found[key] = (param, at)
        return found

    def _compare_parameters(self, old_op: _Op, new_op: _Op, name: str) -> None:
        old_params = self._parameters(self.old, old_op)
        new_params = self._parameters(self.new, new_op)
        for key, (param, at) in old_params.items():
            label = param.get("x-ms-summary") or param["name"]
            if key not in new_params:
                self.add(
                    "ParameterRemoved",
                    name,
                    "old",
                    at,
                    f"parameter '{param['name']}' ({label}) is removed",
                )
                continue
            other, new_at = new_params[key]
            if param.get("in") != other.get("in"):
                self.add(
                    "ParameterLocationChanged",
                    name,
                    "new",
                    new_at + "/in",
                    f"parameter '{param['name']}' moved from {param.get('in')} to "
                    f"{other.get('in')}",
                )
            if not param.get("required") and other.get("required") and "default" not in other:
                self.add(
                    "ParameterNowRequired",
                    name,
                    "new",
                    new_at + "/required",
                    f"parameter '{param['name']}' is now required and has no default",
                )
            if key == "body":
                self._compare_schema(
                    param.get("schema"), at + "/schema", other.get("schema"),
                    new_at + "/schema", name, "request", "body", (),
                )  # fmt: skip
            else:
                self._compare_scalar(param, other, new_at, name, f"parameter '{param['name']}'")
        for key, (param, at) in new_params.items():
            if key in old_params:
                continue
            if param.get("required") and "default" not in param:
                self.add(
                    "ParameterNowRequired",
                    name,
                    "new",
                    at,
                    f"new parameter '{param['name']}' is required and has no default",
                )
            else:
                self.add("ParameterAdded", name, "new", at, f"optional parameter '{param['name']}'")

    def _compare_scalar(self, old: dict, new: dict, new_at: str, name: str, what: str) -> None:
        for key in ("type", "format"):
            before, after = old.get(key), new.get(key)
            if after is not None and before != after and (key == "type" or before is not None):
                self.add(
                    "ParameterTypeChanged",
                    name,
                    "new",
                    new_at + (f"/{key}" if key in new else ""),
                    f"{what}: {key} {_show(old.get(key))} became {_show(new.get(key))}",
                )
        self._compare_enum(old, new, new_at, name, what)
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            self._compare_enum(old_items, new_items, new_at + "/items", name, what)

    def _compare_enum(self, old: dict, new: dict, new_at: str, name: str, what: str) -> None:
        old_enum, new_enum = old.get("enum"), new.get("enum")
        if not isinstance(old_enum, list):
            return
        if not isinstance(new_enum, list):
            return  # no enum any more: every value is accepted
        for value in old_enum:
            if value not in new_enum:
                self.add(
                    "EnumValueRemoved",
                    name,
                    "new",
                    new_at + "/enum",
                    f"{what}: value {_show(value)} is no longer accepted",
                )

    # ---- schemas

    def _compare_schema(
        self,
        old: Any,
        old_at: str,
        new: Any,
        new_at: str,
        name: str,
        direction: str,
        label: str,
        refs: tuple[str, ...],
    ) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict) or len(refs) > MAX_DEPTH:
            return
        seen = set(refs)
        old_ref, new_ref = _ref_name(old), _ref_name(new)
        ref_name = new_ref or old_ref
        old, old_at = self.old.resolve(old, old_at)
        new, new_at = self.new.resolve(new, new_at)
        if ref_name:
            if ref_name in seen:
                return  # a recursive definition: compared once
            refs = (*refs, ref_name)
        if old_ref and new_ref:
            pair = (name, direction, old_ref, new_ref)
            if pair in self.compared:
                return  # reached again by another property of the same operation
            self.compared.add(pair)
        where = f" (in definition '{refs[-1]}')" if refs else ""
        what = f"{direction} {label}"
        for key in ("type", "format"):
            before, after = old.get(key), new.get(key)
            changed = before is not None and before != after and after is not None
            if key == "format" and direction == "response":
                changed = before != after and after is not None  # a new format is narrower
            if changed:
                rule = "ResponsePropertyTypeChanged" if direction == "response" else (
                    "RequestPropertyTypeChanged"
                )  # fmt: skip
                self.add(
                    rule,
                    name,
                    "new",
                    new_at + (f"/{key}" if key in new else ""),
                    f"{what}: {key} {_show(before)} became {_show(after)}{where}",
                )
        if direction == "request":
            self._compare_enum(old, new, new_at, name, f"{what}{where}")
            old_required = set(_strings(old.get("required")))
            for prop in _strings(new.get("required")):
                if prop not in old_required:
                    self.add(
                        "RequestPropertyNowRequired",
                        name,
                        "new",
                        new_at + "/required",
                        f"{what}: property '{prop}' is now required{where}",
                    )
        old_props, new_props = old.get("properties"), new.get("properties")

        def sub(prop: str) -> str:  # the property's name as makers see it: body.a.b
            return f"{label}.{prop}" if label else prop

        def response_property_removed(prop: str) -> None:
            self.add(
                "ResponsePropertyRemoved",
                name,
                "old",
                f"{old_at}/properties/{escape(prop)}",
                f"response property '{sub(prop)}' is removed{where}",
            )

        if isinstance(old_props, dict) and isinstance(new_props, dict):
            for prop, schema in old_props.items():
                if prop in new_props:
                    self._compare_schema(
                        schema, f"{old_at}/properties/{escape(prop)}", new_props[prop],
                        f"{new_at}/properties/{escape(prop)}", name, direction, sub(prop), refs,
                    )  # fmt: skip
                elif direction == "response":
                    response_property_removed(prop)
                else:  # a body property is a parameter in the designer
                    self.add(
                        "ParameterRemoved",
                        name,
                        "old",
                        f"{old_at}/properties/{escape(prop)}",
                        f"request body property '{sub(prop)}' is removed{where}",
                    )
            if direction == "request":
                required = set(_strings(new.get("required")))
                for prop in new_props:
                    if prop not in old_props and prop not in required:
                        self.add(
                            "ParameterAdded",
                            name,
                            "new",
                            f"{new_at}/properties/{escape(prop)}",
                            f"optional request body property '{sub(prop)}'{where}",
                        )
            if direction == "response":
                for prop in new_props:
                    if prop not in old_props:
                        self.add(
                            "ResponsePropertyAdded",
                            name,
                            "new",
                            f"{new_at}/properties/{escape(prop)}",
                            f"response property '{sub(prop)}'{where}",
                        )
        elif isinstance(old_props, dict) and old_props and direction == "response":
            if new.get("type") in (None, "object") and "$ref" not in new:
                for prop in old_props:
                    response_property_removed(prop)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self._compare_schema(
                old["items"], old_at + "/items", new["items"], new_at + "/items", name,
                direction, f"{label}[]" if label else "[]", refs,
            )  # fmt: skip

    # ---- responses

    def _compare_responses(self, old_op: _Op, new_op: _Op, name: str) -> None:
        old_resp = old_op.node.get("responses")
        new_resp = new_op.node.get("responses")
        if not isinstance(old_resp, dict) or not isinstance(new_resp, dict):
            return
        for code, response in old_resp.items():
            if not str(code).startswith("2") and code != "default":
                continue
            at = f"{old_op.pointer}/responses/{escape(str(code))}"
            if code not in new_resp:
                if code == "default":
                    continue
                self.add("StatusCodeRemoved", name, "old", at, f"success response {code} removed")
                continue
            new_at = f"{new_op.pointer}/responses/{escape(str(code))}"
            old_r, old_r_at = self.old.resolve(response, at)
            new_r, new_r_at = self.new.resolve(new_resp[code], new_at)
            if isinstance(old_r, dict) and isinstance(new_r, dict):
                if "schema" in old_r and "schema" not in new_r:
                    self.add(
                        "ResponsePropertyRemoved",
                        name,
                        "old",
                        old_r_at + "/schema",
                        f"the body of response {code} is removed",
                    )
                self._compare_schema(
                    old_r.get("schema"), old_r_at + "/schema", new_r.get("schema"),
                    new_r_at + "/schema", name, "response", "", (),
                )  # fmt: skip

    # ---- operations

    def compare(self) -> None:
        old_ops, new_ops = _operations(self.old), _operations(self.new)
        pairs, removed, added = _match(old_ops, new_ops)
        for old_op, new_op, how in pairs:
            name = new_op.key
            if how != "id" and old_op.operation_id != new_op.operation_id:
                self.add(
                    "OperationIdChanged",
                    old_op.key,
                    "new",
                    new_op.pointer + "/operationId",
                    f"operationId {_show(old_op.operation_id)} became "
                    f"{_show(new_op.operation_id)}"
                    + (f" (matched by x-ms-api-annotation family '{old_op.family}')"
                       if how == "family" else f" ({new_op.method.upper()} {new_op.path})"),
                )  # fmt: skip
            self._compare_operation(old_op, new_op, name)
        for op in removed:
            self.add(
                "OperationRemoved",
                op.key,
                "old",
                op.pointer,
                f"operation '{op.key}' ({op.method.upper()} {op.path}) is removed",
            )
            if self.base is not None and op.node.get("deprecated") is True:
                self._removed_soon(op)
        # a replacement is of the same sort (trigger or action) as an operation deprecated now
        deprecated_sorts = {
            "x-ms-trigger" in n.node
            for o, n, _ in pairs
            if n.node.get("deprecated") is True and o.node.get("deprecated") is not True
        }
        for op in added:
            self.add(
                "OperationAdded",
                op.key,
                "new",
                op.pointer,
                f"new operation '{op.key}' ({op.method.upper()} {op.path})",
            )
            if ("x-ms-trigger" in op.node) in deprecated_sorts and op.family is None:
                self.add(
                    "ReplacementWithoutAnnotation",
                    op.key,
                    "new",
                    op.pointer,
                    f"new operation '{op.key}' has no x-ms-api-annotation family/revision "
                    "while an operation was deprecated",
                )
        self._dynamic_references(new_ops)
        self._package_wide()

    def _removed_soon(self, op: _Op) -> None:
        since = deprecated_since(self.base, op.key)
        if since is None:
            return
        days = (dt.datetime.now(dt.UTC) - since).days
        if days < 30:
            self.add(
                "RemovedSoonAfterDeprecation",
                op.key,
                "old",
                op.pointer + "/deprecated",
                f"operation '{op.key}' is removed {days} days after it was deprecated "
                f"({since.date().isoformat()}), less than 30",
            )

    def _compare_operation(self, old_op: _Op, new_op: _Op, name: str) -> None:
        old_kind = _trigger_kind(self.old, old_op.node)
        new_kind = _trigger_kind(self.new, new_op.node)
        if old_kind != new_kind:
            self.add(
                "TriggerKindChanged",
                name,
                "new",
                new_op.pointer + ("/x-ms-trigger" if "x-ms-trigger" in new_op.node else ""),
                f"trigger kind {_kind(old_kind)} became {_kind(new_kind)}",
            )
        if new_op.node.get("deprecated") is True and old_op.node.get("deprecated") is not True:
            marked = all(
                "(deprecated)" in str(new_op.node.get(key, "")).lower()
                for key in ("summary", "description")
            )
            if marked:
                self.add(
                    "OperationDeprecated",
                    name,
                    "new",
                    new_op.pointer + "/deprecated",
                    f"operation '{name}' is deprecated",
                )
            else:
                self.add(
                    "DeprecatedWithoutNotice",
                    name,
                    "new",
                    new_op.pointer + "/deprecated",
                    f"operation '{name}' is deprecated without \"(deprecated)\" in its summary "
                    "and description",
                )
        old_vis = str(old_op.node.get("x-ms-visibility") or "").lower()
        new_vis = str(new_op.node.get("x-ms-visibility") or "").lower()
        if new_vis == "internal" and old_vis != "internal":
            self.add(
                "VisibilityLoweredToInternal",
                name,
                "new",
                new_op.pointer + "/x-ms-visibility",
                f'visibility {_show(old_vis or None)} became "internal"',
            )
        self._compare_parameters(old_op, new_op, name)
        self._compare_responses(old_op, new_op, name)

    # ---- dynamic references

    def _dynamic_references(self, new_ops: list[_Op]) -> None:
        old_params = {
            op.operation_id: set(self._parameters(self.old, op))
            for op in _operations(self.old)
            if op.operation_id
        }
        new_params = {
            op.operation_id: {p.get("name") for p, _ in self._parameters(self.new, op).values()}
            for op in new_ops
            if op.operation_id
        }
        for op in new_ops:
            for ext, value, at in _walk_dynamic(self.new, op.node, op.pointer, set()):
                target = value.get("operationId")
                if not isinstance(target, str):
                    continue
                if target not in new_params:
                    if target in old_params:
                        self.add(
                            "DynamicReferenceBroken",
                            op.key,
                            "new",
                            at + "/operationId",
                            f"{ext} names operation '{target}', which is removed",
                        )
                    continue
                params = value.get("parameters")
                if not isinstance(params, dict):
                    continue
                for param in params:
                    if param not in new_params[target] and param in old_params.get(target, ()):
                        self.add(
                            "DynamicReferenceBroken",
                            op.key,
                            "new",
                            at + "/parameters",
                            f"{ext} passes parameter '{param}' to '{target}', which no longer "
                            "has it",
                        )

    # ---- security, connection parameters, policies, host

    def _package_wide(self) -> None:
        old_sw, new_sw = self.old.swagger or {}, self.new.swagger or {}
        old_sec = old_sw.get("securityDefinitions") or {}
        new_sec = new_sw.get("securityDefinitions") or {}
        if isinstance(old_sec, dict) and isinstance(new_sec, dict):
            self._security(old_sec, new_sec)
        for key in ("host", "basePath"):
            before, after = old_sw.get(key), new_sw.get(key)
            if before != after and before is not None:
                self.add(
                    "HostChanged",
                    None,
                    "new",
                    f"/{key}" if after is not None else "",
                    f"{key} {_show(before)} became {_show(after)}",
                )
        old_props = (self.old.properties or {}).get("properties") or {}
        new_props = (self.new.properties or {}).get("properties") or {}
        if isinstance(old_props, dict) and isinstance(new_props, dict):
            self._connection_parameters(old_props, new_props)
            self._policies(old_props, new_props)

    def _security(self, old: dict, new: dict) -> None:
        pairs: list[tuple[str, str | None]] = []
        if len(old) == 1 and len(new) == 1:
            pairs = [(next(iter(old)), next(iter(new)))]
        else:
            pairs = [(key, key if key in new else None) for key in old]
        if not old and new:
            key = next(iter(new))
            self.add(
                "SecurityChanged",
                None,
                "new",
                f"/securityDefinitions/{escape(key)}",
                f"authentication '{key}' added where there was none",
            )
        for old_key, new_key in pairs:
            before = old[old_key] if isinstance(old[old_key], dict) else {}
            if new_key is None:
                self.add(
                    "SecurityChanged",
                    None,
                    "old",
                    f"/securityDefinitions/{escape(old_key)}",
                    f"security definition '{old_key}' is removed",
                )
                continue
            after = new[new_key] if isinstance(new[new_key], dict) else {}
            at = f"/securityDefinitions/{escape(new_key)}"
            for key in ("type", "flow", "authorizationUrl", "tokenUrl", "in", "name"):
                if before.get(key) != after.get(key):
                    self.add(
                        "SecurityChanged",
                        None,
                        "new",
                        at + (f"/{key}" if key in after else ""),
                        f"security definition '{new_key}': {key} {_show(before.get(key))} "
                        f"became {_show(after.get(key))}",
                    )
            old_scopes = before.get("scopes") if isinstance(before.get("scopes"), dict) else {}
            new_scopes = after.get("scopes") if isinstance(after.get("scopes"), dict) else {}
            for scope in new_scopes:
                if scope not in old_scopes:
                    self.add(
                        "OAuthScopeAdded",
                        None,
                        "new",
                        f"{at}/scopes/{escape(scope)}",
                        f"security definition '{new_key}': scope '{scope}' added",
                    )

    def _connection_parameters(self, old_props: dict, new_props: dict) -> None:
        old_cp = old_props.get("connectionParameters") or {}
        new_cp = new_props.get("connectionParameters") or {}
        if not isinstance(old_cp, dict) or not isinstance(new_cp, dict):
            return
        base = "/properties/connectionParameters"
        for key, param in old_cp.items():
            if key not in new_cp:
                self.add(
                    "ConnectionParameterRemoved",
                    None,
                    "old",
                    f"{base}/{escape(key)}",
                    f"connection parameter '{key}' is removed",
                    PROPERTIES,
                )
                continue
            other = new_cp[key]
            if not isinstance(param, dict) or not isinstance(other, dict):
                continue
            if param.get("type") != other.get("type"):
                self.add(
                    "ConnectionParameterRetyped",
                    None,
                    "new",
                    f"{base}/{escape(key)}/type",
                    f"connection parameter '{key}': type {_show(param.get('type'))} became "
                    f"{_show(other.get('type'))}",
                    PROPERTIES,
                )
            self._connection_scopes(key, param, other)
            if _cp_required(other) and not _cp_required(param):
                self.add(
                    "ConnectionParameterNowRequired",
                    None,
                    "new",
                    f"{base}/{escape(key)}/uiDefinition/constraints/required",
                    f"connection parameter '{key}' is now required",
                    PROPERTIES,
                )
        for key, param in new_cp.items():
            if key not in old_cp and isinstance(param, dict) and _cp_required(param):
                self.add(
                    "ConnectionParameterNowRequired",
                    None,
                    "new",
                    f"{base}/{escape(key)}",
                    f"new connection parameter '{key}' is required",
                    PROPERTIES,
                )

    def _connection_scopes(self, key: str, old: dict, new: dict) -> None:
        """The scopes of an oauthSetting connection parameter (what users consent to)."""

        def scopes(param: dict) -> list[str]:
            settings = param.get("oAuthSettings")
            return _strings(settings.get("scopes")) if isinstance(settings, dict) else []

        before = scopes(old)
        for scope in scopes(new):
            if scope not in before:
                self.add(
                    "OAuthScopeAdded",
                    None,
                    "new",
                    f"/properties/connectionParameters/{escape(key)}/oAuthSettings/scopes",
                    f"connection parameter '{key}': scope '{scope}' added",
                    PROPERTIES,
                )

    def _policies(self, old_props: dict, new_props: dict) -> None:
        def routes(props: dict) -> list:
            found = props.get("policyTemplateInstances")
            if not isinstance(found, list):
                return []
            return [
                (i, p)
                for i, p in enumerate(found)
                if isinstance(p, dict) and str(p.get("templateId", "")).lower() in ROUTE_TEMPLATES
            ]

        old_routes = [p for _, p in routes(old_props)]
        for i, policy in routes(new_props):
            if policy not in old_routes:
                self.add(
                    "PolicyRouteChanged",
                    None,
                    "new",
                    f"/properties/policyTemplateInstances/{i}",
                    f"policy template '{policy.get('templateId')}' "
                    f"({policy.get('title') or 'untitled'}) is new or changed",
                    PROPERTIES,
                )


def _walk_dynamic(package: Package, node: Any, at: str, seen: set[str]):
    """Every x-ms-dynamic-* object under an operation (parameters, schemas, via `$ref`s)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return
            seen = seen | {ref}
            target, target_at = package.resolve(node, at)
            if target is not node:
                yield from _walk_dynamic(package, target, target_at, seen)
            return
        for key, value in node.items():
            child = f"{at}/{escape(str(key))}"
            if key in DYNAMIC and isinstance(value, dict):
                yield key, value, child
            else:
                yield from _walk_dynamic(package, value, child, seen)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_dynamic(package, value, f"{at}/{i}", seen)


def _notification_url(package: Package, node: Any, seen: set[str]) -> bool:
    """Whether a parameter or body property takes the callback URL (a webhook trigger)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return False
            target, _ = package.resolve(node, "")
            return target is not node and _notification_url(package, target, seen | {ref})
        if node.get("x-ms-notification-url") in (True, "true"):
            return True
        return any(_notification_url(package, v, seen) for v in node.values())
    if isinstance(node, list):
        return any(_notification_url(package, v, seen) for v in node)
    return False


def _trigger_kind(package: Package, node: dict) -> tuple[str, str] | None:
    trigger = node.get("x-ms-trigger")
    if not isinstance(trigger, str):
        return None
    webhook = "x-ms-notification-content" in node or _notification_url(
        package, node.get("parameters"), set()
    )
    return trigger.lower(), "webhook" if webhook else "polling"


def _kind(kind: tuple[str, str] | None) -> str:
    return f"{kind[0]}/{kind[1]}" if kind else "none (an action)"


def _cp_required(param: dict) -> bool:
    ui = param.get("uiDefinition")
    constraints = ui.get("constraints") if isinstance(ui, dict) else None
    required = constraints.get("required") if isinstance(constraints, dict) else None
    return required is True or str(required).lower() == "true"


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _show(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def diff_packages(
    old: Package, new: Package, old_label: str, new_label: str, base: GitBase | None = None
) -> DiffReport:
    """The changes from `old` to `new`; with `base` (old read from git), the history too."""
    report = DiffReport(old, new, old_label, new_label)
    _Differ(report, base).compare()
    if base is not None and base.absent:  # a new connector: no connection or flow to break
        report.changes = [c for c in report.changes if c.rule == "OperationAdded"]
    rank = {level: i for i, level in enumerate(LEVELS)}
    report.changes.sort(key=lambda c: (rank[c.level], c.operation or "", c.rule))
    return report
