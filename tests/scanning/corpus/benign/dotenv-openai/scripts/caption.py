import base64, os, sys

import requests
from dotenv import load_dotenv

load_dotenv()
key = os.getenv("OPENAI_API_KEY")
image = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
body = {
    "model": "gpt-4o-mini",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Caption this image."},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{image}"}},
            ],
        }
    ],
}
r = requests.post(
    "https://api.openai.com/v1/chat/completions",
    json=body,
    headers={"Authorization": f"Bearer {key}"},
    timeout=60,
)
print(r.json()["choices"][0]["message"]["content"])
