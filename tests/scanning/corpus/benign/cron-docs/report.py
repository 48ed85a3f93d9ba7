import datetime

print("Report for", datetime.date.today())
