"""The shape of the code base: building the app and importing every module has no side
effects, the layer contract holds, and the module list is what the app, the worker and the
scheduler read."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent('''
    import importlib, json, os, pkgutil, sys
    from collections.abc import MutableMapping

    ROOT = sys.argv[1]
    project = ("emergency", "plans", "scheduler", "wsgi")
    writes, reads = [], []

    def in_project(filename):
        return filename.startswith(ROOT) and "/.venv/" not in filename

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing:
                writes.append(str(path))
        elif event in ("os.mkdir", "os.rename", "os.remove", "os.symlink", "os.truncate"):
            writes.append(str(args[0]))
    sys.addaudithook(hook)

    class Environ(MutableMapping):
        def __init__(self, data):
            self._data = data
        def _note(self, key):
            frame = sys._getframe(2)
            filename = frame.f_code.co_filename
            if in_project(filename) and not filename.endswith("emergency/core/config.py"):
                reads.append(f"{filename[len(ROOT) + 1:]}:{frame.f_lineno} {key}")
        def __getitem__(self, key):
            self._note(key)
            return self._data[key]
        def get(self, key, default=None):
            self._note(key)
            return self._data.get(key, default)
        def __contains__(self, key):
            self._note(key)
            return key in self._data
        def __setitem__(self, key, value):
            self._data[key] = value
        def __delitem__(self, key):
            del self._data[key]
        def __iter__(self):
            return iter(self._data)
        def __len__(self):
            return len(self._data)
        def copy(self):
            return dict(self._data)
    os.environ = Environ(os.environ)

    from emergency import create_app
    app = create_app()
    names = []
    for package in ("emergency", "plans", "scheduler"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if info.name == "scheduler.worker":  # the worker's entry point builds its process's app
                continue
            importlib.import_module(info.name)
            names.append(info.name)
    print(json.dumps({"writes": writes, "reads": reads, "modules": len(names),
                      "rules": len(list(app.url_map.iter_rules()))}))
''')


def test_building_the_app_and_importing_every_module_has_no_side_effects(tmp_path):
    """In an empty directory, with no SECRET_KEY: no file is created (not even the key, which
    the running process makes), and no environment variable is read outside the config class."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(ROOT)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["modules"] > 80 and found["rules"] > 150  # everything was really imported and wired
    assert found["writes"] == [], found["writes"]
    assert found["reads"] == [], found["reads"]
    assert list(tmp_path.iterdir()) == []


def test_the_layer_contract_holds():
    """`.importlinter`: domains in layers on the core; the scheduler names no domain; no domain
    imports the scheduler (make test runs the same check first)."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 kept, 0 broken" in done.stdout


def test_the_module_list_is_what_the_app_the_worker_and_the_scheduler_read(app):
    from emergency import modules
    from emergency.core.queue import app_queue
    from scheduler.jobs import specs

    declared_jobs = [spec.id for spec in specs()]
    assert len(declared_jobs) == len(set(declared_jobs))
    queue = app_queue(app)
    queue.huey  # noqa: B018 - built on first use, with every declared task
    registered = {wrapper.name for wrapper in queue._wrappers.values()}
    for module in modules.MODULES:
        for path in module.tasks:
            tasks = [value.name for value in vars(__import__(path, fromlist=["_"])).values()
                     if value.__class__.__name__ == "Task"]
            assert tasks and set(tasks) <= registered, path
    blueprints = set(app.blueprints)
    assert {"plans", "filing", "drills", "messaging", "workdays", "auth", "admin", "webhooks"} <= blueprints
