"""Test doubles shipped for us and for plugin authors: a fake ComfyUI and a Discord emulator.

Both are real servers on 127.0.0.1 speaking the real wire protocols, so the bot under test is
the bot users run. Fixtures are exposed through the ``discomfy`` pytest plugin
(``discomfy.testing.pytest_plugin``), registered by the package's ``pytest11`` entry point.
"""
