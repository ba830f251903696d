pytest_plugins = ["dachs_fixture", "s3_fixture"]
