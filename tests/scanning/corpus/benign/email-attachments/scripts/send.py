import base64, os, sys
import requests

to, path = sys.argv[1:3]
data = base64.b64encode(open(path, "rb").read()).decode()
msg = {
    "personalizations": [{"to": [{"email": to}]}],
    "from": {"email": "reports@example.com"},
    "subject": "Report",
    "content": [{"type": "text/plain", "value": "Attached."}],
    "attachments": [{"content": data, "filename": os.path.basename(path)}],
}
r = requests.post(
    "https://api.sendgrid.com/v3/mail/send",
    json=msg,
    headers={"Authorization": "Bearer " + os.environ["SENDGRID_API_KEY"]},
)
r.raise_for_status()
