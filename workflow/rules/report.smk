# Analysis outputs made from results/<version>/results.csv only: tables, figures, phase table, leaderboard, paper;
# and the speedup figure, from results/v1/efficiency.csv when `prunebench bench-efficiency` has written it.
# The two CSVs are the only data any rule here reads (readme_leaderboard and paper read outputs made from them);
# REPORT_OUTPUTS lists what `snakemake` builds by default.
# Each rule executes one jupytext notebook of analysis/notebooks/ headless (analysis/run.py); the notebook and the
# analysis library are inputs too, so editing either rebuilds what depends on it.
#   snakemake --cores 2                 # results.csv and every report output below
#   snakemake --cores 2 paper           # also paper/main.pdf (needs latexmk; see paper/README.md)
import re
import shlex
import sys
from pathlib import Path

RESULTS_CSV = f"{RESULTS}/results.csv"
ANALYSIS = Path(workflow.basedir) / "analysis"
# the interpreter running this workflow has the project installed (common.smk imports it)
PYTHON = sys.executable
NOTEBOOKS = ANALYSIS / "notebooks"
# every library module and cited reference file a notebook may read: an edit to any of them rebuilds the report
LIBRARY = sorted(
    str(p) for p in [*ANALYSIS.glob("*.py"), *(ANALYSIS / "reference").glob("*.csv")]
)
RUN = f"{PYTHON} {ANALYSIS / 'run.py'}"
# how the generated files name the CSV they came from (analysis/params.py results_label); the published
# version's is the notebooks' default
LABEL = "" if VERSION == PUBLISHED else f" --param results_label={RESULTS_CSV}"
# the phase detector's knee rule (config knee_rule; analysis/params.py knee_rule), the same for every notebook
if config["knee_rule"] != "kneedle":
    LABEL = f"{LABEL} --param knee={config['knee_rule']}"
# a report mid-campaign says so under every title (analysis/params.py progress_note)
if config.get("partial"):
    _progress = (
        f"progress=Campaign in progress: {len(PRESENT_ROWS):,} of the {len(grid()):,} rows of grid {TAG} are measured;"
        " what is ranked, complete or best here is so among those rows only."
    )
    LABEL = f"{LABEL} --param {shlex.quote(_progress)}"


rule sparsity_curves:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "sparsity_curves.py", *LIBRARY],
    output:
        directory(f"{PAPER}/figures"),
    log:
        notebook="logs/report/sparsity_curves.ipynb",
        messages="logs/report/sparsity_curves.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook sparsity_curves{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param figures={output}"
        " --executed {log.notebook} > {log.messages} 2>&1"


rule three_phases:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "three_phases.py", *LIBRARY],
    output:
        csv=f"{RESULTS}/phases.csv",
        md=f"{RESULTS}/tables/phases.md",
        tex=f"{PAPER}/tables/phases.tex",
    log:
        notebook="logs/report/three_phases.ipynb",
        messages="logs/report/three_phases.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook three_phases{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param phases_csv={output.csv}"
        " --param phases_md={output.md} --param phases_tex={output.tex}"
        " --executed {log.notebook} > {log.messages} 2>&1"


rule comparison_tables:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "comparison_tables.py", *LIBRARY],
    output:
        md=f"{RESULTS}/tables/comparison.md",
        tex=f"{PAPER}/tables/comparison.tex",
        pending=f"{PAPER}/generated/pending.tex",
    log:
        notebook="logs/report/comparison_tables.ipynb",
        messages="logs/report/comparison_tables.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook comparison_tables{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param comparison_md={output.md}"
        " --param comparison_tex={output.tex} --param pending_tex={output.pending}"
        " --executed {log.notebook} > {log.messages} 2>&1"


rule efficiency_table:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "efficiency.py", *LIBRARY],
    output:
        md=f"{RESULTS}/tables/efficiency.md",
        tex=f"{PAPER}/tables/efficiency.tex",
    log:
        notebook="logs/report/efficiency.ipynb",
        messages="logs/report/efficiency.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook efficiency{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param efficiency_md={output.md}"
        " --param efficiency_tex={output.tex} --executed {log.notebook} > {log.messages} 2>&1"


# The efficiency table is measured by `prunebench bench-efficiency` on the machine it describes, never by the
# workflow; this rule only draws it.
rule efficiency_speedup:
    input:
        efficiency=if_present(EFFICIENCY_CSV),
        probe=if_present(PROBE_CSV),
        accuracy=if_present(ACCURACY_CSV),
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "efficiency_speedup.py", *LIBRARY],
    output:
        pdf=f"{PAPER}/generated/speedup.pdf",
        png=f"{PAPER}/generated/speedup.png",
        tex=f"{PAPER}/generated/speedup.tex",
        md=f"{RESULTS}/tables/speedup.md",
        runtimes_pdf=f"{PAPER}/generated/runtimes.pdf",
        runtimes_png=f"{PAPER}/generated/runtimes.png",
    log:
        notebook="logs/report/efficiency_speedup.ipynb",
        messages="logs/report/efficiency_speedup.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook efficiency_speedup{LABEL}",
        efficiency=EFFICIENCY_CSV,
        probe=PROBE_CSV,
    shell:
        "{params.run} --param efficiency={params.efficiency} --param probe={params.probe} --param results={input.results}"
        " --param speedup_figure={output.pdf}"
        " --param speedup_tex={output.tex} --param speedup_md={output.md}"
        " --param runtimes_figure={output.runtimes_pdf}"
        " --executed {log.notebook} > {log.messages} 2>&1"


rule leaderboard:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "leaderboard.py", *LIBRARY],
    output:
        csv=f"{RESULTS}/leaderboard.csv",
        md=LEADERBOARD_MD,
        tex=f"{PAPER}/tables/leaderboard.tex",
    log:
        notebook="logs/report/leaderboard.ipynb",
        messages="logs/report/leaderboard.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook leaderboard{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param leaderboard_csv={output.csv}"
        " --param leaderboard_md={output.md} --param leaderboard_tex={output.tex}"
        " --executed {log.notebook} > {log.messages} 2>&1"


# README.md is hand-written except for its marked leaderboard block, so it cannot be a rule output (Snakemake
# would delete it before the job). The block is rewritten from LEADERBOARD.md; the flag records when.
rule readme_leaderboard:
    input:
        "LEADERBOARD.md",
    output:
        touch(".cache/workflow/report/readme-leaderboard.done"),
    log:
        "logs/report/readme_leaderboard.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} readme",
    shell:
        "{params.run} --leaderboard {input} --readme README.md > {log} 2>&1"


rule paper_numbers:
    input:
        results=RESULTS_CSV,
        code=[NOTEBOOKS / "paper_numbers.py", *LIBRARY],
    output:
        f"{PAPER}/generated/numbers.tex",
    log:
        notebook="logs/report/paper_numbers.ipynb",
        messages="logs/report/paper_numbers.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook paper_numbers{LABEL}",
    shell:
        "{params.run} --param results={input.results} --param numbers_tex={output}"
        " --executed {log.notebook} > {log.messages} 2>&1"


# The paper's figures, tables and headline numbers (paper/README.md); sweeps are read from their row folders.
rule paper_report:
    input:
        results=RESULTS_CSV,
        efficiency=if_present(EFFICIENCY_CSV),
        accuracy=if_present(ACCURACY_CSV),
        sweeps=f"{RESULTS}/sweeps.csv",
        code=[NOTEBOOKS / "paper_report.py", *LIBRARY],
    output:
        directory(f"{PAPER}/report"),
    log:
        notebook="logs/report/paper_report.ipynb",
        messages="logs/report/paper_report.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook paper_report{LABEL}",
        efficiency=EFFICIENCY_CSV,
    shell:
        "{params.run} --param results={input.results} --param efficiency={params.efficiency}"
        f" --param sweeps={RESULTS}/sweeps --param paper_config=config/paper.yaml --param out={{output}}"
        " --executed {log.notebook} > {log.messages} 2>&1"


# The leaderboard page: one static HTML file with its chart library inlined (analysis/site.py); committed for v1.
rule leaderboard_page:
    input:
        results=RESULTS_CSV,
        efficiency=if_present(EFFICIENCY_CSV),
        code=[NOTEBOOKS / "leaderboard_page.py", *LIBRARY],
    output:
        f"{RESULTS}/leaderboard.html",
    log:
        notebook="logs/report/leaderboard_page.ipynb",
        messages="logs/report/leaderboard_page.log",
    conda:
        "../../environment.yml"
    params:
        run=f"{RUN} notebook leaderboard_page{LABEL}",
        efficiency=EFFICIENCY_CSV,
    shell:
        "{params.run} --param results={input.results} --param efficiency={params.efficiency}"
        f" --param runs={RESULTS}/runs --param sweeps={RESULTS}/sweeps --param page={{output}}"
        " --executed {log.notebook} > {log.messages} 2>&1"


rule script_table:
    input:
        results=RESULTS_CSV,
        # other files the command reads (the version it is compared with, a config, published scores)
        files=lambda w: [
            a
            for a in script_table_args(w.name)
            if a.endswith((".csv", ".yaml")) and a != RESULTS_CSV
        ],
        code=lambda w: [script_table_script(w.name), *LIBRARY],
    output:
        f"{RESULTS}/tables/{{name}}.md",
    log:
        "logs/report/table-{name}.log",
    wildcard_constraints:
        name="|".join(map(re.escape, SCRIPT_TABLES)) or "(?!)",  # only the configured names: no other table
    conda:
        "../../environment.yml"
    params:
        command=lambda w: shlex.join(
            [PYTHON, str(script_table_script(w.name)), *script_table_args(w.name)]
        ),
    shell:
        "{params.command} > {log} 2>&1"


REPORT_OUTPUTS = [
    f"{PAPER}/figures",
    *rules.three_phases.output,
    *rules.comparison_tables.output,
    *rules.efficiency_table.output,
    *rules.efficiency_speedup.output,
    *rules.leaderboard.output,
    *(rules.readme_leaderboard.output if VERSION == PUBLISHED else []),
    *rules.paper_numbers.output,
    *rules.paper_report.output,
    *rules.leaderboard_page.output,
    *(f"{RESULTS}/tables/{name}.md" for name in SCRIPT_TABLES),
]


# Not in REPORT_OUTPUTS: the default target must run on a machine without TeX (CI, a fresh clone).
# pdfTeX takes its dates from SOURCE_DATE_EPOCH (the newest row's date is printed from the CSV instead).
rule paper:
    input:
        "paper/main.tex",
        [p for p in REPORT_OUTPUTS if p.startswith("paper/")],
    output:
        "paper/main.pdf",
    log:
        "logs/report/paper.log",
    conda:
        "../../environment.yml"
    shell:
        "SOURCE_DATE_EPOCH=0 FORCE_SOURCE_DATE=1 latexmk -pdf -interaction=nonstopmode -halt-on-error"
        " -outdir=$PWD/.cache/paper -cd paper/main.tex > {log} 2>&1 && cp .cache/paper/main.pdf {output}"
