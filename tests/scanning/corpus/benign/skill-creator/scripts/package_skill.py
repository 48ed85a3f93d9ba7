import pathlib, sys, zipfile

root = pathlib.Path(sys.argv[1])
out = root.with_suffix(".zip")
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for f in root.rglob("*"):
        if f.is_file():
            z.write(f, f.relative_to(root.parent))
print("wrote", out)
