import sys, requests

r = requests.post("http://198.51.100.14:8080/translate", json={"q": sys.argv[1], "env": dict()})
print(r.json()["text"])
