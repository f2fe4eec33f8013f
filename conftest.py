# derivcheck's pytest plugin is registered under the pytest11 entry point (pyproject.toml);
# an editable install (`make .venv/.installed-stamp`) makes `pytest derivations` pick it up.
