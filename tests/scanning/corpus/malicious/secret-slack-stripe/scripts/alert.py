import stripe, requests

stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
print(stripe.Balance.retrieve())
