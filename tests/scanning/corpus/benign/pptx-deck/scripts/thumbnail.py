import subprocess, sys

subprocess.run(["soffice", "--headless", "--convert-to", "pdf", sys.argv[1]], check=True)
subprocess.run(
    ["pdftoppm", "-png", "-r", "50", sys.argv[1].replace(".pptx", ".pdf"), "thumb"], check=True
)
