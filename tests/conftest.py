pytest_plugins = ["dachs_fixture", "s3_fixture", "webdav_fixture", "reproducibility_checks"]
