"""Reports of a `harness repro` run (see SCHEMA.md for summary.json):

    summary_json.py    summary.json (schema harness-repro-summary/1)
    summary_html.py    summary.html: self-contained (inline CSS, plots as data URIs, no script)
    plots.py           PNG plots with matplotlib's Agg backend
    allure_results.py  allure-results: one result per iteration, categories, environment
"""
