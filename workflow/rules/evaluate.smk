# Stage 5: policy -> rollouts on each terrain, task and gait-naturalness metrics, videos.


rule evaluate_policy:
    input:
        unpack(robot_inputs),
        policy="results/train/{exp}/policy.pt",
        discriminator="results/train/{exp}/discriminator.pt",
        dataset="results/dataset/motions.h5",
        code=EVAL_CODE,
    output:
        metrics="results/eval/{exp}/metrics.json",
        rollouts="results/eval/{exp}/rollouts.h5",
        videos=directory("results/eval/{exp}/videos"),
    params:
        train=train_params,
        config=eval_params,
        mjcf=mjcf_arg(),
    threads: workflow.cores
    log:
        "logs/evaluate_policy/{exp}.log",
    shell:
        "{PYTHON} -m rl.evaluate --policy {input.policy:q} --discriminator {input.discriminator:q}"
        " --dataset {input.dataset:q} --train-config {params.train:q} --config {params.config:q}"
        " --experiment {wildcards.exp} --out-dir results/eval/{wildcards.exp} {params.mjcf}"
        " > {log:q} 2>&1"
