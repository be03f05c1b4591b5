"""Clip discovery and the clip-id rule of DESIGN section 8."""

from mocap.discover import build_index, clip_id, discover_clips, fixed_prefix


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


def test_fixed_prefix_and_clip_id():
    assert fixed_prefix("data/mocap/**/*.bvh") == "data/mocap"
    assert fixed_prefix("*.bvh") == ""
    assert fixed_prefix("data/m?cap/x/*.bvh") == "data"
    assert clip_id("data/mocap/cmu/07_01.bvh", "data/mocap/**/*.bvh") == "cmu/07_01"
    assert clip_id("walk.bvh", "*.bvh") == "walk"


def test_discovery_reports_bad_ids_and_clashes(tmp_path):
    touch(tmp_path / "data/mocap/cmu/07_01.bvh")
    touch(tmp_path / "data/mocap/lafan/walk1 subject1.bvh")  # space: invalid id
    touch(tmp_path / "data/mocap/amass/07_01.npz")
    touch(tmp_path / "data/mocap/cmu/07_01.npz")  # same id as the .bvh
    found = discover_clips(["data/mocap/**/*.bvh", "data/mocap/**/*.npz"], root=tmp_path)
    assert found.clips == {"cmu/07_01": "data/mocap/cmu/07_01.bvh", "amass/07_01": "data/mocap/amass/07_01.npz"}
    reasons = {item["file"]: item["reason"] for item in found.invalid}
    assert "outside" in reasons["data/mocap/lafan/walk1 subject1.bvh"]
    assert "already taken by data/mocap/cmu/07_01.bvh" in reasons["data/mocap/cmu/07_01.npz"]


def test_no_clips(tmp_path):
    found = discover_clips(["data/mocap/**/*.bvh"], root=tmp_path)
    assert found.clips == {} and found.invalid == []


def test_build_index():
    idx = build_index(
        {"a": {"status": "accepted", "source": "a.bvh"}, "b": {"status": "rejected", "reason": "bad"}},
        [{"file": "c d.bvh", "reason": "id"}],
    )
    assert idx["accepted"] == ["a"] and idx["rejected"] == ["b"]
    assert idx["clips"]["b"]["reason"] == "bad" and idx["invalid_files"][0]["file"] == "c d.bvh"
