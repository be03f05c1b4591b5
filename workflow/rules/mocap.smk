# Stage 1: MoCap clips -> canonical HumanMotion (results/mocap/{clip}.npz + .json).


rule synthesize_demo_clip:
    input:
        code=DEMO_CODE,
    output:
        bvh="results/demo/{name}.bvh",
        meta="results/demo/{name}.meta.json",
    log:
        "logs/synthesize_demo_clip/{name}.log",
    shell:
        "{PYTHON} -m mocap.demo --out-dir results/demo --clips {wildcards.name} > {log} 2>&1"


rule ingest_clip:
    input:
        unpack(clip_inputs),
        code=INGEST_CODE,
    output:
        npz="results/mocap/{clip}.npz",
        json="results/mocap/{clip}.json",
    params:
        config=ingest_params,
    log:
        "logs/ingest_clip/{clip}.log",
    shell:
        "{PYTHON} -m mocap.ingest --input {input.clip:q} --clip {wildcards.clip:q}"
        " --out-npz {output.npz:q} --out-json {output.json:q} --config {params.config:q}"
        " > {log:q} 2>&1"


rule index_clips:
    input:
        expand("results/mocap/{clip}.json", clip=sorted(CLIPS)),
    output:
        report(
            "results/index/clips.json",
            caption="../report/clips.rst",
            category="1. MoCap clips",
        ),
    params:
        invalid=json.dumps(DISCOVERY.invalid, sort_keys=True),
    run:
        from mocap.discover import build_index
        from mocap.fileio import write_json

        summaries = {}
        for path in input:
            s = json.loads(Path(path).read_text())
            summaries[s["clip"]] = s
        write_json(output[0], build_index(summaries, json.loads(params.invalid)))
