"""Suite-wide pytest settings only (fixtures belong to the harness plugin or to a test module)."""

# pytester drives the harness plugin in generated test sessions (tests/test_plugin_*.py);
# pytest_plugins is only honoured in the root conftest.
pytest_plugins = ["pytester"]
