"""Restart a container through the podman CLI: `podman [--url URL] restart [-t N] NAME`.

Same command shape and classification as docker (harness.container.docker); a remote service is
named with `--url` (podman's CONTAINER_HOST), which makes podman act as its remote client.
"""

from __future__ import annotations

from harness.container.docker import DockerRestarter


class PodmanRestarter(DockerRestarter):
    method = "podman"
    runtime = "podman"
    host_option = "--url"
    host_env = "CONTAINER_HOST"
