"""The ``discomfy`` pytest plugin: fixtures for tests of DisComfy and of its plugins.

Loaded automatically (``pytest11`` entry point) wherever discomfy is installed.
"""
