import argparse, pathlib

TEMPLATE = """---
name: {name}
description: TODO
---

# {title}
"""
parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--path", default=".")
args = parser.parse_args()
d = pathlib.Path(args.path) / args.name
d.mkdir(parents=True)
(d / "SKILL.md").write_text(TEMPLATE.format(name=args.name, title=args.name.title()))
