"""GET a URL N times; print how many answers came from each revision, as JSON."""

import collections
import json
import sys
import urllib.request

url, count = sys.argv[1], int(sys.argv[2])
seen = collections.Counter()
for _request in range(count):
    with urllib.request.urlopen(url, timeout=10) as response:
        seen[json.loads(response.read())["revision"]] += 1
print(json.dumps(seen))
