# Stage 4: dataset -> PPO + AMP policy per experiment (results/train/{exp}/).
# Checkpoints and live logs live in results/train_state/{exp}/ (not declared as outputs), so an
# interrupted training resumes from its last checkpoint when the rule reruns.


rule train_policy:
    input:
        unpack(robot_inputs),
        dataset="results/dataset/motions.h5",
        code=TRAIN_CODE,
    output:
        policy="results/train/{exp}/policy.pt",
        onnx="results/train/{exp}/policy.onnx",
        discriminator="results/train/{exp}/discriminator.pt",
        metrics=report(
            "results/train/{exp}/metrics.csv",
            caption="../report/train.rst",
            category="4. Training",
            subcategory="{exp}",
        ),
        curriculum="results/train/{exp}/curriculum.csv",
        resolved="results/train/{exp}/resolved_config.yaml",
        tensorboard=directory("results/train/{exp}/tensorboard"),
    params:
        config=train_params,
        mjcf=mjcf_arg(),
    threads: workflow.cores
    resources:
        gpu=0,
    log:
        "logs/train_policy/{exp}.log",
    shell:
        "{PYTHON} -m rl.train --dataset {input.dataset:q} --out-dir results/train/{wildcards.exp}"
        " --state-dir results/train_state/{wildcards.exp} --config {params.config:q}"
        " {params.mjcf} > {log:q} 2>&1"
