# Stage 3: accepted retargeted clips -> HDF5 reference-motion dataset.


rule build_dataset:
    input:
        unpack(robot_inputs),
        jsons=expand("results/retarget/{clip}.json", clip=sorted(CLIPS)),
        npzs=expand("results/retarget/{clip}.npz", clip=sorted(CLIPS)),
        code=DATASET_CODE,
    output:
        "results/dataset/motions.h5",
    params:
        config=section_json("dataset"),
        mjcf=mjcf_arg(),
    log:
        "logs/build_dataset/build_dataset.log",
    shell:
        "{PYTHON} -m retarget.dataset build --clips {input.jsons:q} --out {output:q}"
        " --config {params.config:q} {params.mjcf} > {log:q} 2>&1"
        " && {PYTHON} -m retarget.dataset info {output:q} >> {log:q} 2>&1"
