# Stage 2: canonical human motion -> G1 motion + quality report (results/retarget/{clip}.*).


rule retarget_clip:
    input:
        unpack(robot_inputs),
        motion="results/mocap/{clip}.npz",
        summary="results/mocap/{clip}.json",
        code=RETARGET_CODE,
    output:
        npz="results/retarget/{clip}.npz",
        json="results/retarget/{clip}.json",
        png=report(
            "results/retarget/{clip}.png",
            caption="../report/retarget.rst",
            category="2. Retargeting",
            subcategory="{clip}",
        ),
    params:
        config=section_json("retarget"),
        mjcf=mjcf_arg(),
    log:
        "logs/retarget_clip/{clip}.log",
    shell:
        "{PYTHON} -m retarget.solve --input {input.motion:q} --summary {input.summary:q}"
        " --out-npz {output.npz:q} --out-json {output.json:q} --out-png {output.png:q}"
        " --config {params.config:q} {params.mjcf} > {log:q} 2>&1"
