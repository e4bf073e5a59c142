"""Reports of a pytest run: stress statistics, Allure metadata and crash results, JUnit properties.

A pytest plugin of its own (entry point `android_harness_reports` -> harness.reporting.plugin),
next to the device plugin `android_harness`; switch it off with `-p no:android_harness_reports`.
"""
