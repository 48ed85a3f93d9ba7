import csv

rows = list(csv.DictReader(open("data/population.csv", encoding="latin-1")))
print(len(rows), "counties")
