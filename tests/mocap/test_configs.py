"""Strict dataclass configs: unknown keys, types, nesting, Literal and Optional fields."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from mocap.configs import ConfigError, canonical_json, from_dict, parse_json_arg


@dataclass(frozen=True)
class Inner:
    gain: float = 1.0
    hidden: tuple[int, ...] = (64, 64)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    mode: Literal["a", "b"] = "a"
    limit: float | None = None
    inner: Inner = field(default_factory=Inner)
    table: dict[str, float] = field(default_factory=dict)


def test_defaults_and_nesting():
    cfg = from_dict(Outer, {"inner": {"gain": 2, "hidden": [8, 4]}, "table": {"a": 1}})
    assert cfg.inner == Inner(gain=2.0, hidden=(8, 4))
    assert cfg.table == {"a": 1.0} and isinstance(cfg.table["a"], float)
    assert cfg.mode == "a" and cfg.limit is None


def test_unknown_key_names_path():
    with pytest.raises(ConfigError, match=r"train\.inner: unknown key\(s\) \['gian'\]"):
        from_dict(Outer, {"inner": {"gian": 2}}, "train")


@pytest.mark.parametrize(
    "data, match",
    [
        ({"mode": "c"}, "not one of"),
        ({"limit": "big"}, "matches none"),
        ({"inner": {"gain": True}}, "expected a number"),
        ({"inner": {"hidden": 3}}, "expected a list"),
        ({"name": 3}, "expected a string"),
    ],
)
def test_type_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(Outer, data)


def test_canonical_json_round_trip():
    cfg = from_dict(Outer, {"limit": 3, "inner": {"hidden": [1]}})
    text = canonical_json(cfg)
    assert parse_json_arg(Outer, text, "x") == cfg
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_json_arg(Outer, "{", "x")
