"""A ClawHub-compatible API, so the `clawhub` CLI (0.23) can use this registry.

Mounted under `/clawhub` (ClawHub's own `/api/v1/…` paths collide with ours):
`clawhub --registry http://<registry>/clawhub …`, or `--site http://<registry>`
through `/.well-known/clawhub.json`. A ClawHub owner handle is our namespace and
a ClawHub slug our skill name (`clawhub install acme/pdf-tools` is `acme/pdf-tools`);
a bare slug works when one namespace has it. `docs/clawhub.md` lists the commands.
"""
