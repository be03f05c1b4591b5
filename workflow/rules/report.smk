# Stage 6: one self-contained HTML report per experiment (and `snakemake --report report.zip`).


rule make_report:
    input:
        metrics=expand("results/eval/{exp}/metrics.json", exp=EXPERIMENTS),
        train="results/train/{exp}/metrics.csv",
        curriculum="results/train/{exp}/curriculum.csv",
        dataset="results/dataset/motions.h5",
        clips="results/index/clips.json",
        code=REPORT_CODE,
    output:
        report(
            "results/report/{exp}/index.html",
            caption="../report/report.rst",
            category="6. Report",
            subcategory="{exp}",
        ),
    params:
        compare=compare_args,
    log:
        "logs/make_report/{exp}.log",
    shell:
        "{PYTHON} -m rl.report --eval-dir results/eval/{wildcards.exp}"
        " --train-dir results/train/{wildcards.exp} --dataset {input.dataset:q}"
        " --clip-index {input.clips:q} --out {output:q} {params.compare} > {log:q} 2>&1"
