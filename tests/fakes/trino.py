"""`from trino import FakeTrino` for tests: the fake lives in fake_trino.py.

The implementation has a name of its own so that an installed Trino client
package (also called `trino`) can never be imported in its place.
"""
from fake_trino import *  # noqa: F401,F403
from fake_trino import FakeTrino, TrinoError  # noqa: F401
