# Registers derivcheck's pytest plugin: claims become test items named by ID.
pytest_plugins = ["derivcheck.pytest_plugin"]
