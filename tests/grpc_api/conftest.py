from tests.extproc.conftest import config

__all__ = ["config"]
