"""Deployment files generated from one topology: nginx, Procfile, compose, Kubernetes.

Each target is a pure function of the topology (and, for the local targets,
the base environment and the folders to run in) returning
``{relative file name: text}``; the same inputs give byte-identical files::

    topology = load_topology("config/topology.toml")
    files = generate("procfile", topology, LocalRun(run_dir="/srv/run", repo_dir="/srv/app",
                                                    base={"DATABASE_URL": "postgres://..."}))
    write_files(files, Path("/srv/run"))

``manage.py ucloud_deploy`` is the command-line face of this package.
Running the units on this machine (``manage.py ucloud_up`` / ``ucloud_down``)
is ``local``, on ``honcho``, ``database_server`` and ``processes``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ucloud.deploy.compose import compose_files
from ucloud.deploy.k8s import k8s_files
from ucloud.deploy.nginx import gateway_server_names, local_servers, render_nginx
from ucloud.deploy.procfile import procfile_files
from ucloud.deploy.topology import Topology

DeployTarget = Literal["nginx", "procfile", "compose", "k8s"]
DEPLOY_TARGETS: tuple[DeployTarget, ...] = ("nginx", "procfile", "compose", "k8s")


@dataclass(frozen=True)
class LocalRun:
    """Where and how the local targets (nginx, procfile) run their processes.

    ``run_dir`` holds pid files, logs, temporary files and env files;
    ``base`` is the environment shared by every unit (see
    ``ucloud.deploy.environment``); ``python`` and ``nginx`` are the
    executables the Procfile starts.
    """

    run_dir: str
    repo_dir: str
    base: Mapping[str, str] = field(default_factory=dict)
    python: str = "python"
    nginx: str = "nginx"
    static_root: str | None = None
    # nginx workers' user, written as a `user` directive only when given
    # (nginx started as root runs its workers as nobody otherwise).
    nginx_user: str | None = None


def generate(
    target: DeployTarget, topology: Topology, local: LocalRun, *, out_dir: str | None = None
) -> dict[str, str]:
    """The files of ``target``; ``out_dir`` (default ``local.run_dir``) anchors relative paths."""
    if target == "nginx":
        text = render_nginx(
            topology,
            listen=f"127.0.0.1:{topology.gateway_port}",
            servers=local_servers(topology),
            server_names=gateway_server_names(topology),
            static_root=local.static_root,
            user=local.nginx_user,
        )
        return {"nginx.conf": text}
    if target == "procfile":
        return procfile_files(
            topology,
            base=local.base,
            run_dir=local.run_dir,
            repo_dir=local.repo_dir,
            python=local.python,
            nginx=local.nginx,
            static_root=local.static_root,
            nginx_user=local.nginx_user,
        )
    if target == "compose":
        context = os.path.relpath(local.repo_dir, out_dir or local.run_dir)
        return compose_files(topology, context=context)
    if target == "k8s":
        return k8s_files(topology)
    raise ValueError(f"unknown target {target!r}; known: {', '.join(DEPLOY_TARGETS)}")
