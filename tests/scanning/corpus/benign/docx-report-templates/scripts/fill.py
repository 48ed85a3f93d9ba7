import json, sys
from docx import Document

template, data, out = sys.argv[1:4]
doc = Document(template)
values = json.load(open(data))
for p in doc.paragraphs:
    for k, v in values.items():
        p.text = p.text.replace("{{" + k + "}}", str(v))
doc.save(out)
