"""The embedded demo: a small infrastructure repo, a drifted cluster and a drifted AWS
account, no setup needed.

``driftwatch demo`` builds the demo Git repository (package data under
``driftwatch/demo/repo``, committed with a fixed author and dates), starts the embedded
test API server (:mod:`driftwatch.testing`) on loopback seeded with a live state that
produces every status, starts moto's server in this process (on loopback) with the repo's
``AWSResource`` specs deployed and then drifted to every status too, and scans the repo
against both:

* :func:`create_demo_repo` — the repo alone, at a path of your choice;
* :func:`live_objects` — the seeded live objects (apiserver-shaped, with managedFields);
* :class:`DemoAccount` — the AWS account alone (server, seed, boto3 environment);
* :class:`Demo` — repo + running servers + kubeconfig in a private directory;
* :func:`run_headless` — one scan of the demo, printed as ``driftwatch scan`` would.

What each resource's status comes from is listed in :mod:`driftwatch.demo.live` (the
cluster) and :mod:`driftwatch.demo.aws` (the account).
"""

from driftwatch.demo.aws import DemoAccount
from driftwatch.demo.gitrepo import COMMITS, create_demo_repo
from driftwatch.demo.live import desired_objects, live_objects
from driftwatch.demo.session import CONTEXT, Demo, run_headless

__all__ = [
    "COMMITS",
    "CONTEXT",
    "Demo",
    "DemoAccount",
    "create_demo_repo",
    "desired_objects",
    "live_objects",
    "run_headless",
]
