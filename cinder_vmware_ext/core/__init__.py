"""The pure core: capacity maths, pool membership and placement.

Nothing in this package performs I/O; every function takes plain
dataclasses (see model.py) built by the vSphere edge from one inventory
pass, so it can be tested without a simulator and without mocks.
"""
