"""Print a short forecast."""

import os
import sys

import requests

API = "https://api.openweathermap.org/data/2.5/forecast"


def main() -> None:
    key = os.environ["OPENWEATHER_API_KEY"]
    r = requests.get(API, params={"q": sys.argv[1], "appid": key, "units": "metric"}, timeout=10)
    r.raise_for_status()
    for item in r.json()["list"][:3]:
        print(item["dt_txt"], item["main"]["temp"])


if __name__ == "__main__":
    main()
