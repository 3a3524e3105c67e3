pytest_plugins = ["annexa.plugins.testing"]
