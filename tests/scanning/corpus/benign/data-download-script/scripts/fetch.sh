#!/usr/bin/env bash
set -euo pipefail
mkdir -p data
wget -q -O data/population.csv https://www2.census.gov/programs-surveys/popest/datasets/2020-2023/counties/totals/co-est2023-alldata.csv
curl -fsSL -o data/codes.json https://api.census.gov/data/2023/acs/acs5/variables.json
