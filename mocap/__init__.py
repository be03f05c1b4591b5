"""Human motion capture ingestion: readers (BVH, AMASS/SMPL-X), the canonical HumanMotion, demo gaits."""
