# Analysis outputs made from results/v1/results.csv only: tables, figures, phase table, leaderboard, paper.
# Every rule here reads the merged CSV and nothing else; REPORT_OUTPUTS lists what `snakemake` builds by default.

REPORT_OUTPUTS = []
