# gaitforge: human MoCap -> natural Unitree G1 walking policy. Run: snakemake --cores all
# Presets merge over the default config: snakemake --cores all --configfile config/smoke.yaml

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config/config.yaml")


validate(config, schema="workflow/schemas/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/mocap.smk"
include: "workflow/rules/retarget.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        ingested_clips(),
        retargeted_clips(),
        "results/dataset/motions.h5",
        expand("results/report/{exp}/index.html", exp=EXPERIMENTS),
        "results/index/clips.json",
    default_target: True
